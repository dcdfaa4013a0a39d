package wtfperf

import (
	"fmt"
	"testing"
)

// A StopScan wrapped by the callback (errors.Is) stops the run like the
// bare one: no error, no further calls.
func TestWrappedStopScan(t *testing.T) {
	root := smallTree(t)
	wrapped := fmt.Errorf("limit reached: %w", StopScan)

	calls := 0
	_, err := Scan(root, smallTreeOptions(), ScanCallbacks{OnFile: func(*File) error { calls++; return wrapped }})
	if err != nil || calls != 1 {
		t.Errorf("Scan with a wrapped StopScan: err %v after %d calls, want nil after 1", err, calls)
	}

	calls, results, failed := 0, 0, 0
	_, err = AnalyzeWith(root, smallTreeOptions(), nil, "wrapped-stopper", AnalyzeCallbacks{
		Analyze: func(*File) ([]byte, error) {
			calls++
			if calls == 2 {
				return nil, wrapped
			}
			return []byte("x"), nil
		},
		OnResult: func(*File, []byte, bool) { results++ },
		OnError:  func(string, error) { failed++ },
	})
	if err != nil || calls != 2 || results != 1 || failed != 0 {
		t.Fatalf("Analyze with a wrapped StopScan: err %v, %d calls, %d results, %d errors; want nil, 2, 1, 0",
			err, calls, results, failed)
	}
}
