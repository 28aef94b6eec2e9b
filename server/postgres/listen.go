package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gatehouse/server/store"
)

// Pauses between attempts to connect the notification connection again:
// doubling from the first to the last.
const (
	minListenPause = 100 * time.Millisecond
	maxListenPause = 5 * time.Second
)

// heartbeat is how long the notification connection may stay quiet before
// Listen checks that it still answers: a connection whose peer vanished
// without closing it would otherwise wait for notifications forever.
const heartbeat = 15 * time.Second

// Listen receives what every instance on the database sends with Notify
// and calls deliver with each payload, in the order they were committed.
// It holds a connection of its own, outside the pool, doing LISTEN on
// Channel; its application_name is the pool's with " listen" added.
//
// When that connection is lost, Listen logs a warning once, connects again
// with pauses doubling from 100 ms to 5 s, and once it listens again logs
// that it is back and calls resync: notifications sent in between are
// lost, so whatever they would have invalidated must be. (A connection
// that fails on the first attempt counts as lost.)
//
// deliver and resync run on Listen's goroutine and should return quickly.
// Listen returns nil when ctx ends, and an error wrapping
// store.ErrUnavailable when the store is closed.
func (d *DB) Listen(ctx context.Context, deliver func(payload string), resync func()) error {
	d.mu.Lock()
	if d.closed.Load() {
		d.mu.Unlock()
		return fmt.Errorf("postgres: listen: %w: the store is closed", store.ErrUnavailable)
	}
	d.listeners.Add(1)
	d.mu.Unlock()
	defer d.listeners.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-d.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	pause := minListenPause
	first, down := true, false
	for {
		conn, err := d.listen(ctx)
		if err == nil {
			if down {
				d.log.Info("cache invalidation from other instances is back")
			}
			if !first {
				resync()
			}
			down, pause = false, minListenPause
			err = d.receive(ctx, conn, deliver)
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			conn.Close(closeCtx)
			cancel()
		}
		first = false
		if d.closed.Load() {
			return fmt.Errorf("postgres: listen: %w: the store is closed", store.ErrUnavailable)
		}
		if ctx.Err() != nil {
			return nil
		}
		if !down {
			d.log.Warn("cache invalidation from other instances is down; cached state may be stale for up to the cache TTL",
				"err", d.fail(ctx, "listen", err))
			down = true
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
		pause = min(2*pause, maxListenPause)
	}
}

// listen opens a connection and has it LISTEN on Channel.
func (d *DB) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := d.op(ctx)
	defer cancel()
	conf := d.conf.Copy()
	conf.RuntimeParams["application_name"] += " listen"
	conn, err := pgx.ConnectConfig(ctx, conf)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN "`+Channel+`"`); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

// receive calls deliver with every notification conn receives, until ctx
// ends or conn fails.
func (d *DB) receive(ctx context.Context, conn *pgx.Conn, deliver func(string)) error {
	for {
		wait, cancel := context.WithTimeout(ctx, d.heartbeat)
		n, err := conn.WaitForNotification(wait)
		quiet := wait.Err() != nil
		cancel()
		switch {
		case err == nil:
			deliver(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !quiet || !pgconn.Timeout(err):
			return err
		}
		ping, cancel := d.op(ctx)
		err = conn.Ping(ping)
		cancel()
		if err != nil {
			return err
		}
	}
}
