package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

const scaleUsage = `scale NAME|ID [--json]                  the replica count, how many are ready, the autoscale policy
       coderunner scale NAME|ID --replicas N     run N replicas (autoscaling off)
       coderunner scale NAME|ID --off            autoscaling off, keeping the current count
       coderunner scale NAME|ID [--template T] [--min N] [--max N] [--cpu PCT] [--inflight N]
                  [--rps N] [--p95 MS] [--step N] [--up-cooldown D] [--down-cooldown D] [--idle D]
                                                 autoscale by a policy

A policy is set whole: what its flags leave out comes from --template,
then the defaults (min 1, max 10, step 1, down cooldown 5m, idle 15m). It
needs a target (--cpu, --inflight, --rps or --p95) or a template. --min 0
lets the deployment sleep after --idle without a request and wake on the
next one. A change of the count scales in place, without a restart.`

// policyFlags are the flags that make a policy; fixedFlag and offFlag the
// other two ways scale changes a deployment.
var policyFlags = []string{"template", "min", "max", "cpu", "inflight", "rps", "p95", "step", "up-cooldown", "down-cooldown", "idle"}

const (
	fixedFlag = "replicas"
	offFlag   = "off"
)

// scaleFlags are scale's flags; given names those on the command line.
type scaleFlags struct {
	fs                                                *flag.FlagSet
	asJSON, off                                       *bool
	replicas, minReplicas, maxReplicas, cpu, inflight *int
	p95, step                                         *int
	rps                                               *float64
	template                                          *string
	upCooldown, downCooldown, idle                    *time.Duration
	given                                             map[string]bool
}

func newScaleFlags(stderr io.Writer) *scaleFlags {
	fs := newFlagSet("scale", scaleUsage, stderr)
	return &scaleFlags{
		fs:           fs,
		asJSON:       fs.Bool("json", false, "print the API's JSON"),
		replicas:     fs.Int(fixedFlag, 0, "run this many replicas, 1 to the quota; removes the policy"),
		off:          fs.Bool(offFlag, false, "remove the policy; the current count stays"),
		template:     fs.String("template", "", "preset: cost_optimized, balanced, scale_to_zero, responsive or performance"),
		minReplicas:  fs.Int("min", 0, "fewest replicas; 0 lets the deployment sleep when idle"),
		maxReplicas:  fs.Int("max", 0, "most replicas (default 10, at most the quota)"),
		cpu:          fs.Int("cpu", 0, "target CPU use per replica, percent of its limit"),
		inflight:     fs.Int("inflight", 0, "target requests in flight per replica"),
		rps:          fs.Float64("rps", 0, "target requests per second per replica"),
		p95:          fs.Int("p95", 0, "target p95 response time, in milliseconds"),
		step:         fs.Int("step", 0, "most replicas one decision adds or removes (default 1)"),
		upCooldown:   fs.Duration("up-cooldown", 0, "least time between two scale-ups"),
		downCooldown: fs.Duration("down-cooldown", 0, "least time from a change to a scale-down (default 5m)"),
		idle:         fs.Duration("idle", 0, "with --min 0, how long without a request before it sleeps (default 15m)"),
		given:        map[string]bool{},
	}
}

// parse parses args into the flags and the one deployment they name, and
// refuses flags that ask for two things at once.
func (f *scaleFlags) parse(args []string) (string, error) {
	rest, err := parse(f.fs, args)
	if err != nil {
		return "", err
	}
	if len(rest) != 1 {
		return "", usageError(f.fs, "name one deployment (its name or id)")
	}
	f.fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	policy := f.policyGiven()
	switch {
	case f.given[fixedFlag] && f.given[offFlag]:
		return "", usageError(f.fs, "--replicas already turns autoscaling off; give --replicas or --off")
	case f.given[fixedFlag] && policy != "":
		return "", usageError(f.fs, "--replicas sets a fixed count and %s an autoscale policy: give one or the other", policy)
	case f.given[offFlag] && policy != "":
		return "", usageError(f.fs, "--off removes the autoscale policy: it takes no %s", policy)
	case f.given[offFlag] && !*f.off:
		return "", usageError(f.fs, "--off=false does nothing; leave it out")
	case f.given[fixedFlag] && *f.replicas < 1:
		return "", usageError(f.fs, "--replicas must be at least 1 (a policy with --min 0 lets a deployment sleep)")
	}
	return rest[0], nil
}

// policyGiven is the first policy flag given, as "--name"; "" for none.
func (f *scaleFlags) policyGiven() string {
	for _, name := range policyFlags {
		if f.given[name] {
			return "--" + name
		}
	}
	return ""
}

// request is the update the flags ask of d; nil when they only ask to see.
func (f *scaleFlags) request(d *coderunnerv1.Deployment) *coderunnerv1.UpdateDeploymentRequest {
	req := &coderunnerv1.UpdateDeploymentRequest{Id: d.GetId(), UpdateMask: &fieldmaskpb.FieldMask{}}
	switch {
	case f.given[fixedFlag]:
		req.Replicas = int32(*f.replicas)
		req.UpdateMask.Paths = []string{"replicas"}
		if d.GetAutoscale() != nil {
			// The server refuses a count under a policy unless the same
			// request removes it.
			req.UpdateMask.Paths = append(req.UpdateMask.Paths, "autoscale")
		}
	case f.given[offFlag]:
		req.UpdateMask.Paths = []string{"autoscale"}
	case f.policyGiven() != "":
		p := &coderunnerv1.AutoscalePolicy{
			Template:           *f.template,
			MaxReplicas:        int32(*f.maxReplicas),
			TargetCpuPercent:   int32(*f.cpu),
			TargetInflight:     int32(*f.inflight),
			TargetRps:          *f.rps,
			TargetP95LatencyMs: int32(*f.p95),
			Step:               int32(*f.step),
			ScaleUpCooldown:    durationIf(f.given["up-cooldown"], *f.upCooldown),
			ScaleDownCooldown:  durationIf(f.given["down-cooldown"], *f.downCooldown),
			IdleTimeout:        durationIf(f.given["idle"], *f.idle),
		}
		// Present only when given: an unset min takes the template's or
		// 1, while --min 0 asks for scale to zero.
		if f.given["min"] {
			p.MinReplicas = proto.Int32(int32(*f.minReplicas))
		}
		req.Autoscale = p
		req.UpdateMask.Paths = []string{"autoscale"}
	default:
		return nil
	}
	return req
}

func scaleCommand(ctx context.Context, env Env, args []string) error {
	f := newScaleFlags(env.Stderr)
	ref, err := f.parse(args)
	if err != nil {
		return err
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	d, err := resolve(ctx, c, ref)
	if err != nil {
		return err
	}
	req := f.request(d)
	if req == nil {
		if *f.asJSON {
			return printJSON(env.Stdout, &coderunnerv1.GetDeploymentResponse{Deployment: d})
		}
		printScale(env.Stdout, d)
		return nil
	}
	res, err := c.deployments.UpdateDeployment(ctx, connect.NewRequest(req))
	if err != nil {
		return err
	}
	if *f.asJSON {
		return printJSON(env.Stdout, res.Msg)
	}
	printScale(env.Stdout, res.Msg.GetDeployment())
	return nil
}

// durationIf is d as a proto Duration when its flag was given, else unset.
func durationIf(given bool, d time.Duration) *durationpb.Duration {
	if !given {
		return nil
	}
	return durationpb.New(d)
}

// printScale writes a deployment's replica count, ready replicas and
// autoscale policy.
func printScale(w io.Writer, d *coderunnerv1.Deployment) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", d.GetName())
	fmt.Fprintf(tw, "Status:\t%s\n", statusName(d.GetStatus()))
	fmt.Fprintf(tw, "Replicas:\t%d\n", d.GetReplicas())
	fmt.Fprintf(tw, "Ready:\t%d\n", d.GetReadyReplicas())
	p := d.GetAutoscale()
	if p == nil {
		fmt.Fprintf(tw, "Autoscale:\toff (the count is yours: coderunner scale %s --max N --cpu PCT sets a policy)\n", d.GetName())
		tw.Flush()
		return
	}
	fmt.Fprintf(tw, "Autoscale:\t%d–%d replicas on %s\n", p.GetMinReplicas(), p.GetMaxReplicas(), targets(p))
	if p.GetTemplate() != "" {
		fmt.Fprintf(tw, "Template:\t%s\n", p.GetTemplate())
	}
	fmt.Fprintf(tw, "Step:\t%d\n", p.GetStep())
	fmt.Fprintf(tw, "Cooldowns:\tup %s, down %s\n", p.GetScaleUpCooldown().AsDuration(), p.GetScaleDownCooldown().AsDuration())
	if p.GetMinReplicas() == 0 {
		fmt.Fprintf(tw, "Idle:\tsleeps after %s without a request\n", p.GetIdleTimeout().AsDuration())
	}
	tw.Flush()
}

// targets lists a policy's targets as a person reads them.
func targets(p *coderunnerv1.AutoscalePolicy) string {
	var t []string
	if v := p.GetTargetCpuPercent(); v > 0 {
		t = append(t, fmt.Sprintf("CPU %d%%", v))
	}
	if v := p.GetTargetInflight(); v > 0 {
		t = append(t, fmt.Sprintf("%d in flight each", v))
	}
	if v := p.GetTargetRps(); v > 0 {
		t = append(t, fmt.Sprintf("%g requests/s each", v))
	}
	if v := p.GetTargetP95LatencyMs(); v > 0 {
		t = append(t, fmt.Sprintf("p95 %dms", v))
	}
	return strings.Join(t, " or ")
}
