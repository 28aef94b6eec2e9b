package migration

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []Step
		wantErr string
	}{
		{"ordered by version, not by name", fstest.MapFS{"10_ten.sql": file("x"), "2_two.sql": file("y"), "README": file("not sql")},
			[]Step{{2, "2_two", "y"}, {10, "10_ten", "x"}}, ""},
		{"none", fstest.MapFS{}, nil, ""},
		{"a name without a version", fstest.MapFS{"init.sql": file("")}, nil, "positive version"},
		{"version zero", fstest.MapFS{"0_init.sql": file("")}, nil, "positive version"},
		{"two of one version", fstest.MapFS{"1_a.sql": file(""), "0001_b.sql": file("")}, nil, "same version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.fsys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("step %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
