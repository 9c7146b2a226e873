package manifest

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkGetByID measures GET /api/posts/{id} through Handler (no socket)
// with parallel clients over a real SQLite database.
func BenchmarkGetByID(b *testing.B) {
	c := newClient(b, blogYAML)
	u := c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	ids := make([]string, 200)
	for i := range ids {
		p := c.create("/api/posts", map[string]any{"title": "Post title", "content": "Some content for the post body.", "userId": u["id"]})
		ids[i] = p["id"].(string)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/posts/"+ids[i%len(ids)], nil))
			if rec.Code != 200 {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
			i++
		}
	})
}

// BenchmarkCreate measures POST /api/posts (one write transaction each).
func BenchmarkCreate(b *testing.B) {
	c := newClient(b, blogYAML)
	u := c.create("/api/users", map[string]any{"username": "ada", "email": "a@x"})
	body := `{"title":"Post title","content":"Some content.","userId":"` + u["id"].(string) + `"}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := c.do("POST", "/api/posts", body)
			if r.Code != 201 {
				b.Errorf("status %d: %s", r.Code, r.Body)
				return
			}
		}
	})
}
