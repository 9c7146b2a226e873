package manifest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestMigrateConcurrently: replicas starting at the same moment all migrate
// (one after the other), and the manifest is applied once.
func TestMigrateConcurrently(t *testing.T) { forEachDialect(t, testMigrateConcurrently) }

func testMigrateConcurrently(t *testing.T, td testDialect) {
	st := td.storage(t)
	dbs := []*sql.DB{td.openStorage(t, st), td.openStorage(t, st), td.openStorage(t, st)}
	v2 := blogWith("      - name: views\n        type: integer\n        default: 0\n", "")
	for _, src := range []string{blogYAML, v2} {
		m := mustParse(t, td.src(src))
		errs := make([]error, len(dbs))
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() { errs[i] = Migrate(context.Background(), db, m) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
	}
	var rows int
	if err := dbs[0].QueryRow(`SELECT COUNT(*) FROM _cr_manifest`).Scan(&rows); err != nil || rows != 2 {
		t.Errorf("meta rows %d (%v), want 2: one per manifest", rows, err)
	}
}

// TestConcurrentPatches: patches of different fields of one record, through
// two replicas at once, all stay: none is lost to another's stale read.
func TestConcurrentPatches(t *testing.T) { forEachDialect(t, testConcurrentPatches) }

func testConcurrentPatches(t *testing.T, td testDialect) {
	const n = 10
	var src strings.Builder
	src.WriteString("name: counters\nentities:\n  - name: Counter\n    fields:\n")
	for i := range n {
		fmt.Fprintf(&src, "      - name: f%d\n        type: integer\n", i)
	}
	rs := td.replicas(t, src.String(), 2)
	id := rs[0].create("/api/counters", map[string]any{})["id"].(string)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i] = rs[i%2].do("PATCH", "/api/counters/"+id, map[string]any{fmt.Sprint("f", i): i}).Code
		})
	}
	wg.Wait()
	got := rs[1].do("GET", "/api/counters/"+id, nil).json(200)
	for i := range n {
		if codes[i] != 200 || got[fmt.Sprint("f", i)] != float64(i) {
			t.Errorf("f%d: patch %d, stored %v", i, codes[i], got[fmt.Sprint("f", i)])
		}
	}
}

// TestConcurrentRefAndDelete: a record created with a ref while, through
// another replica, its target is deleted: either the delete is refused or
// the create is, never neither (which would leave a dangling ref).
func TestConcurrentRefAndDelete(t *testing.T) { forEachDialect(t, testConcurrentRefAndDelete) }

func testConcurrentRefAndDelete(t *testing.T, td testDialect) {
	rs := td.replicas(t, shopYAML, 2)
	for i := range 10 {
		cat := rs[0].create("/api/categories", map[string]any{"title": fmt.Sprint("c", i)})["id"].(string)
		var created, deleted int
		var wg sync.WaitGroup
		wg.Go(func() {
			created = rs[0].do("POST", "/api/products", map[string]any{"name": "Saw", "category": cat}).Code
		})
		wg.Go(func() { deleted = rs[1].do("DELETE", "/api/categories/"+cat, nil).Code })
		wg.Wait()
		ok := (created == 201 && deleted == 409) || (created == 422 && deleted == 204)
		if !ok {
			t.Errorf("round %d: create %d, delete %d", i, created, deleted)
		}
	}
}

// TestConcurrentUniqueAcrossReplicas: the same unique value written through
// two replicas at once is taken once, and every refusal names the field,
// whether the check or (on PostgreSQL) the index caught it.
func TestConcurrentUniqueAcrossReplicas(t *testing.T) {
	forEachDialect(t, testConcurrentUniqueAcrossReplicas)
}

func testConcurrentUniqueAcrossReplicas(t *testing.T, td testDialect) {
	rs := td.replicas(t, blogYAML, 2)
	const n = 20
	bodies := make([]string, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := rs[i%2].do("POST", "/api/users", map[string]any{"username": fmt.Sprint("u", i/2), "email": "e"})
			codes[i], bodies[i] = r.Code, r.Body.String()
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for i, code := range codes {
		counts[code]++
		if code == 409 && !strings.Contains(bodies[i], `"field":"username"`) {
			t.Errorf("409 without the field: %s", bodies[i])
		}
	}
	if counts[201] != n/2 || counts[409] != n/2 {
		t.Errorf("statuses: %v", counts)
	}
}
