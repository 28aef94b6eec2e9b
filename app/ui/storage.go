package ui

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Keys under which the app keeps things in localStorage.
const (
	TokenKey    = "gatehouse.token"
	cachePrefix = "gatehouse.cache."
)

// Storage is the small part of the Web Storage API the app uses.
type Storage interface {
	Get(key string) (string, bool)
	Set(key, value string)
	Del(key string)
	Keys() []string
}

// localStorage is window.localStorage.
type localStorage struct{}

func (localStorage) ls() app.Value { return app.Window().Get("localStorage") }

func (s localStorage) Get(key string) (string, bool) {
	v := s.ls().Call("getItem", key)
	if v.IsNull() || v.IsUndefined() {
		return "", false
	}
	return v.String(), true
}

func (s localStorage) Set(key, value string) { s.ls().Call("setItem", key, value) }
func (s localStorage) Del(key string)        { s.ls().Call("removeItem", key) }

func (s localStorage) Keys() []string {
	ls := s.ls()
	n := ls.Get("length").Int()
	keys := make([]string, 0, n)
	for i := range n {
		keys = append(keys, ls.Call("key", i).String())
	}
	return keys
}

// memoryStorage is a Storage in memory, for prerendering and tests.
type memoryStorage struct {
	mu sync.Mutex
	m  map[string]string
}

func newMemoryStorage() *memoryStorage { return &memoryStorage{m: make(map[string]string)} }

func (s *memoryStorage) Get(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok
}

func (s *memoryStorage) Set(key, value string) {
	s.mu.Lock()
	s.m[key] = value
	s.mu.Unlock()
}

func (s *memoryStorage) Del(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

func (s *memoryStorage) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	return keys
}

// LocalTokenStore keeps the access token in localStorage, where other tabs
// see it change. (The refresh token is never here: it is an HttpOnly
// cookie the app cannot read.)
type LocalTokenStore struct {
	key string
	s   Storage
}

// NewLocalTokenStore stores the token under key in window.localStorage.
func NewLocalTokenStore(key string) *LocalTokenStore {
	return &LocalTokenStore{key: key, s: localStorage{}}
}

// Token returns the stored token, "" when there is none.
func (t *LocalTokenStore) Token() string {
	v, _ := t.s.Get(t.key)
	return v
}

// SetToken stores tok.
func (t *LocalTokenStore) SetToken(tok string) { t.s.Set(t.key, tok) }

// Clear removes the token.
func (t *LocalTokenStore) Clear() { t.s.Del(t.key) }

// Cache keeps the last data each read view loaded, with when, so that the
// view can show it (and its age) while offline.
type Cache struct {
	store Storage
	now   func() time.Time
}

type cached struct {
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data"`
}

// Put remembers v for key.
func (c *Cache) Put(key string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	b, _ := json.Marshal(cached{At: c.now(), Data: data})
	c.store.Set(cachePrefix+key, string(b))
}

// Get loads what was remembered for key into v and says when it was
// loaded; ok is false when nothing usable is there.
func (c *Cache) Get(key string, v any) (at time.Time, ok bool) {
	s, found := c.store.Get(cachePrefix + key)
	if !found {
		return time.Time{}, false
	}
	var e cached
	if json.Unmarshal([]byte(s), &e) != nil || json.Unmarshal(e.Data, v) != nil {
		return time.Time{}, false
	}
	return e.At, true
}

// Clear forgets every cached view.
func (c *Cache) Clear() {
	for _, k := range c.store.Keys() {
		if strings.HasPrefix(k, cachePrefix) {
			c.store.Del(k)
		}
	}
}
