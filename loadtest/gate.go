package loadtest

import "fmt"

// Gate says which outcomes fail a run, so that a run can gate a CI job or a
// deployment: a run whose report is printed in full can still have failed.
type Gate struct {
	// MaxFailures is how many queries may time out or fail with an error
	// (a network error or an unusable response) over the whole run; 0: none.
	MaxFailures int
	// Fairness also fails the run when any group is unfair (its first
	// answers not spread as expected) or holds an answer outside its
	// scope's expected targets.
	Fairness bool
}

// Check returns why r fails the gate, one reason per line in report order,
// or nil when it passes.
func (g Gate) Check(r *Report) []string {
	var why []string
	if failed := r.Timeouts + r.Errors; failed > g.MaxFailures {
		why = append(why, fmt.Sprintf("%d of %d queries failed (%d timeouts, %d errors); at most %d may",
			failed, r.Queries, r.Timeouts, r.Errors, g.MaxFailures))
	}
	if !g.Fairness {
		return why
	}
	for i := range r.Groups {
		gr := &r.Groups[i]
		id := fmt.Sprintf("site %s, %s %s", gr.Site, gr.Name, gr.Type)
		if gr.Reject {
			why = append(why, fmt.Sprintf("%s: unfair (p = %s, below %g)", id, fmtP(gr.PValue), r.GroupAlpha))
		}
		if gr.AffinityViolations > 0 {
			why = append(why, fmt.Sprintf("%s: %d answers hold a record outside the scope's targets", id, gr.AffinityViolations))
		}
	}
	return why
}

func fmtP(p Float) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", float64(p))
}
