package router

import (
	"net/http"
	"strconv"
	"time"

	"github.com/coderunner/coderunner/server/orchestrator"
)

// ColdStartHeader carries, on a response to a request that woke an idle
// deployment or waited for its wake, the milliseconds it was held.
const ColdStartHeader = "X-CodeRunner-Cold-Start"

// hold serves a request for a deployment that is waking, or wakes it: the
// request waits (counted, so the deployment is not idle) until a replica
// serves, then goes to it. It never answers 502 or 504 for the wake: past
// the bound on waiting requests it is 503 with Retry-After, and a wake
// that fails is a 503 page with the reason. It reports false when d is
// not idle and not waking, for the caller's status page.
func (r *Router) hold(w http.ResponseWriter, req *http.Request, slug string, d *orchestrator.Deployment) bool {
	arrived := time.Now()
	wake, err := r.manager.Wake(req.Context(), d)
	if err != nil {
		r.logger.Error("wake", "deployment", d.ID, "error", err)
		page(w, http.StatusServiceUnavailable, "App asleep", "The platform could not wake "+d.Name+". Try again in a moment.")
		return true
	}
	if wake == nil {
		// Not idle and no wake in progress: a wake may have ended since
		// the caller looked for a replica (routed, its row not yet or just
		// RUNNING), so look once more before the status page.
		target, _, err := r.manager.Route(req.Context(), slug)
		if err != nil || target == nil {
			return false
		}
		r.serve(w, req, target)
		return true
	}
	counted, finish := r.count(d.ID, w, req)
	defer finish()
	release, ok := wake.Hold()
	if !ok {
		counted.Header().Set("Retry-After", "1")
		page(counted, http.StatusServiceUnavailable, "App waking up", d.Name+" is starting and has as many requests waiting as it holds. Try again in a second.")
		return true
	}
	select {
	case <-wake.Done():
		release()
	case <-req.Context().Done():
		release()
		return true // the client left
	}
	if err := wake.Err(); err != nil {
		page(counted, http.StatusServiceUnavailable, "App could not start", d.Name+" was asleep and did not wake: "+err.Error()+".")
		return true
	}
	target, _, err := r.manager.Route(req.Context(), slug)
	if err != nil || target == nil {
		counted.Header().Set("Retry-After", "1")
		page(counted, http.StatusServiceUnavailable, "App restarting", d.Name+" woke but has no replica serving right now. Try again in a moment.")
		return true
	}
	defer target.Done()
	counted.Header().Set(ColdStartHeader, strconv.FormatInt(time.Since(arrived).Milliseconds(), 10))
	r.forward(counted, req, target)
	return true
}
