package testredis

import "testing"

func TestStartKillRestart(t *testing.T) {
	s := Start(t)
	if err := s.Ping(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Ping(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if err := s.Ping(); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	two := Start(t)
	if two.Addr == s.Addr {
		t.Fatal("two servers on one address")
	}
}
