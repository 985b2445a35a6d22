package phase

import (
	"fmt"
	"testing"
)

func TestRingKeepsTheLastCapacityEvents(t *testing.T) {
	l := New(nil)
	for i := 0; i < Capacity+57; i++ {
		l.Info("test", fmt.Sprint(i))
	}
	if l.Total() != Capacity+57 {
		t.Fatalf("total %d", l.Total())
	}
	all := l.Last(10_000)
	if len(all) != Capacity {
		t.Fatalf("held %d, want %d", len(all), Capacity)
	}
	if all[0].Msg != "57" || all[len(all)-1].Msg != fmt.Sprint(Capacity+56) {
		t.Fatalf("oldest %q newest %q", all[0].Msg, all[len(all)-1].Msg)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq+1 || all[i].TimeMS < all[i-1].TimeMS {
			t.Fatalf("events out of order at %d", i)
		}
	}
	last3 := l.Last(3)
	if len(last3) != 3 || last3[2].Msg != fmt.Sprint(Capacity+56) {
		t.Fatalf("last 3: %+v", last3)
	}
	if got := l.Last(0); len(got) != 0 {
		t.Fatalf("Last(0) = %d events", len(got))
	}
	if l.Counts()["test"] != Capacity+57 {
		t.Fatalf("counts %v", l.Counts())
	}
}

func TestFewerEventsThanAsked(t *testing.T) {
	l := New(nil)
	l.Warn("mode", "a")
	l.Error("group", "b")
	got := l.Last(50)
	if len(got) != 2 || got[0].Level != "warn" || got[1].Level != "error" {
		t.Fatalf("%+v", got)
	}
}

func TestPhaseSwitch(t *testing.T) {
	l := New(nil)
	var seen []Event
	l.OnEvent(func(e Event) { seen = append(seen, e) })
	if l.Phase() != Early {
		t.Fatal(l.Phase())
	}
	l.SetPhase(Runtime)
	if l.Phase() != Runtime || len(seen) != 1 || seen[0].Kind != "phase" {
		t.Fatalf("phase %s, hooks saw %+v", l.Phase(), seen)
	}
}
