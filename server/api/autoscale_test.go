package api_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// setPolicy sets (or, with nil, removes) d's autoscale policy.
func (e *engine) setPolicy(id string, p *coderunnerv1.AutoscalePolicy) (*coderunnerv1.Deployment, error) {
	res, err := e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: id, Autoscale: p, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"autoscale"}},
	}, e.token))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetDeployment(), nil
}

// load keeps n slow requests (ms each) in flight against d until stop,
// and returns how many answered other than 200.
func (e *engine) load(d *coderunnerv1.Deployment, n int, ms string) (stop func() (ok, bad int64)) {
	var done atomic.Bool
	var good, failures atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for !done.Load() {
				if status, _ := e.fetch(d, "/status?ms="+ms); status == 200 {
					good.Add(1)
				} else {
					failures.Add(1)
				}
			}
		})
	}
	return func() (int64, int64) {
		done.Store(true)
		wg.Wait()
		return good.Load(), failures.Load()
	}
}

// scaledEvents lists d's "scaled a → b" events.
func (e *engine) scaledEvents(id string) []string {
	var out []string
	for _, ev := range e.events(id) {
		if strings.Contains(ev, "scaled ") {
			out = append(out, ev)
		}
	}
	return out
}

// TestAutoscaleInflight: requests in flight above the target add replicas
// one step per evaluation (1 → 2 → 3), each an event with its reason; when
// the load ends the count comes back to min after the cooldown, draining
// each replica, with no failed request throughout.
func TestAutoscaleInflight(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "inflight", Files: readDir(t, "testdata/probe"),
		Autoscale: &coderunnerv1.AutoscalePolicy{MaxReplicas: 3, TargetInflight: 2, ScaleDownCooldown: durationpb.New(time.Second)}})
	if d.GetReplicas() != 1 || d.GetAutoscale().GetMaxReplicas() != 3 || d.GetAutoscale().GetMinReplicas() != 1 {
		t.Fatalf("created with replicas %d, policy %v", d.GetReplicas(), d.GetAutoscale())
	}
	d = e.waitFor(d.GetId(), statusRunning, time.Minute)
	watch := e.watchAvailability(d.GetUrl())

	stop := e.load(d, 5, "800")
	e.waitReady(d.GetId(), 3)
	ok, bad := stop()
	scaled := e.scaledEvents(d.GetId())
	if len(scaled) != 2 || !strings.Contains(scaled[0], "scaled 1 → 2: autoscale: ") || !strings.Contains(scaled[1], "scaled 2 → 3: autoscale: ") ||
		!strings.Contains(scaled[0], "requests in flight per replica > 2") {
		t.Errorf("scale-up events = %q", scaled)
	}
	if bad > 0 || ok == 0 {
		t.Errorf("under load: %d answered 200, %d did not", ok, bad)
	}

	e.waitReady(d.GetId(), 1)
	scaled = e.scaledEvents(d.GetId())
	if len(scaled) != 4 || !strings.Contains(scaled[2], "scaled 3 → 2: autoscale: ") || !strings.Contains(scaled[3], "scaled 2 → 1: autoscale: ") ||
		!strings.Contains(scaled[2], "< 2") || !strings.Contains(scaled[2], "since the last change") {
		t.Errorf("scale-down events = %q", scaled)
	}
	if failures := failed(watch()); len(failures) > 0 {
		t.Errorf("%d requests failed while autoscaling, first %v", len(failures), failures[0])
	}

	// Removing the policy keeps the count; replicas may then be set again.
	d, err := e.setPolicy(d.GetId(), nil)
	if err != nil || d.GetAutoscale() != nil || d.GetReplicas() != 1 {
		t.Fatalf("remove the policy: %v, %v", d, err)
	}
	if events := e.events(d.GetId()); !strings.Contains(events[len(events)-1], "autoscaling off: 1 replicas") {
		t.Errorf("last event %q", events[len(events)-1])
	}
}

// TestAutoscalePolicyBounds: setting a policy brings the count within its
// bounds at once and persists across reads; replicas and a policy cannot
// both be set. The policy is stored in both databases.
func TestAutoscalePolicyBounds(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testAutoscalePolicyBounds(t, db) })
	}
}

func testAutoscalePolicyBounds(t *testing.T, db testenv.Database) {
	e := newEngine(t, db, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "bounded", Files: readDir(t, "testdata/probe")})
	e.waitFor(d.GetId(), statusRunning, time.Minute)
	got, err := e.setPolicy(d.GetId(), &coderunnerv1.AutoscalePolicy{Template: "responsive", MaxReplicas: 4})
	if err != nil {
		t.Fatal(err)
	}
	p := got.GetAutoscale()
	if got.GetReplicas() != 2 || p.GetMinReplicas() != 2 || p.GetMaxReplicas() != 4 || p.GetTargetCpuPercent() != 60 || p.GetStep() != 2 || p.GetTemplate() != "responsive" {
		t.Fatalf("responsive with max 4 = replicas %d, %v", got.GetReplicas(), p)
	}
	e.waitReady(d.GetId(), 2)
	if events := e.events(d.GetId()); !slices.ContainsFunc(events, func(s string) bool { return strings.Contains(s, "scaled 1 → 2: autoscaling on: 2–4 replicas") }) {
		t.Errorf("events %q", events)
	}
	if !proto.Equal(e.get(d.GetId()).GetAutoscale(), p) {
		t.Errorf("stored policy %v, want %v", e.get(d.GetId()).GetAutoscale(), p)
	}

	_, err = e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Replicas: 3, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"replicas"}},
	}, e.token))
	if ce := wantCode(t, err, connect.CodeInvalidArgument, "autoscale policy"); !contains(violations(t, ce), "replicas:valid") {
		t.Errorf("violations %v", violations(t, ce))
	}
	if now := e.get(d.GetId()); now.GetReplicas() != 2 || now.GetAutoscale() == nil {
		t.Errorf("after the refused update: replicas %d, policy %v", now.GetReplicas(), now.GetAutoscale())
	}
}

// TestAutoscaleBadInput: each kind of bad policy is refused with its code
// and field, and nothing changes.
func TestAutoscaleBadInput(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "refuser", Files: readDir(t, "testdata/probe")})
	zero, four := int32(0), int32(4)
	for _, tc := range []struct {
		name   string
		policy *coderunnerv1.AutoscalePolicy
		code   connect.Code
		field  string
		says   string
	}{
		{"min over max", &coderunnerv1.AutoscalePolicy{MinReplicas: &four, MaxReplicas: 2, TargetCpuPercent: 70}, connect.CodeInvalidArgument, "autoscale.min_replicas:valid", "must not be above max_replicas"},
		{"max over quota", &coderunnerv1.AutoscalePolicy{MaxReplicas: 11, TargetCpuPercent: 70}, connect.CodeResourceExhausted, "autoscale.max_replicas:valid", "quota of 10 replicas"},
		{"cpu over 100", &coderunnerv1.AutoscalePolicy{MaxReplicas: 3, TargetCpuPercent: 101}, connect.CodeInvalidArgument, "autoscale.target_cpu_percent:int32.gte_lte", ""},
		{"in-flight below 1", &coderunnerv1.AutoscalePolicy{MaxReplicas: 3, TargetInflight: -1}, connect.CodeInvalidArgument, "autoscale.target_inflight:int32.gte_lte", ""},
		{"no target", &coderunnerv1.AutoscalePolicy{MaxReplicas: 3}, connect.CodeInvalidArgument, "autoscale.target_cpu_percent:valid", "at least one target"},
		{"idle timeout under 30 s", &coderunnerv1.AutoscalePolicy{MinReplicas: &zero, MaxReplicas: 3, TargetInflight: 5, IdleTimeout: durationpb.New(10 * time.Second)}, connect.CodeInvalidArgument, "autoscale.idle_timeout:valid", "at least 30s"},
		{"unknown template", &coderunnerv1.AutoscalePolicy{Template: "turbo"}, connect.CodeInvalidArgument, "autoscale.template:string.in", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.setPolicy(d.GetId(), tc.policy)
			ce := wantCode(t, err, tc.code, tc.says)
			if got := violations(t, ce); !contains(got, tc.field) {
				t.Errorf("violations %v, want %s", got, tc.field)
			}
			_, err = e.client.CreateDeployment(context.Background(), withToken(&coderunnerv1.CreateDeploymentRequest{
				Name: "never", Files: readDir(t, "testdata/probe"), Autoscale: tc.policy}, e.token))
			wantCode(t, err, tc.code, tc.says)
		})
	}
	_, err := e.client.CreateDeployment(context.Background(), withToken(&coderunnerv1.CreateDeploymentRequest{
		Name: "both", Files: readDir(t, "testdata/probe"), Replicas: 2, Autoscale: &coderunnerv1.AutoscalePolicy{TargetCpuPercent: 50}}, e.token))
	if ce := wantCode(t, err, connect.CodeInvalidArgument, "not both"); !contains(violations(t, ce), "replicas:valid") {
		t.Errorf("violations %v", violations(t, ce))
	}
	_, err = e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Replicas: 2, Autoscale: &coderunnerv1.AutoscalePolicy{TargetCpuPercent: 50},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"replicas", "autoscale"}},
	}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument, "autoscale policy")
	if now := e.get(d.GetId()); now.GetAutoscale() != nil || now.GetReplicas() != 1 {
		t.Errorf("after refusals: replicas %d, policy %v", now.GetReplicas(), now.GetAutoscale())
	}
	list, err := e.client.ListDeployments(context.Background(), withToken(&coderunnerv1.ListDeploymentsRequest{}, e.token))
	if err != nil || len(list.Msg.GetDeployments()) != 1 {
		t.Errorf("deployments after refused creates: %v, %v", list, err)
	}
}
