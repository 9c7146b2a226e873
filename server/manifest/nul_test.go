package manifest

import "testing"

// TestNULCharacter: U+0000, which PostgreSQL's text cannot hold, is stored
// by SQLite; PostgreSQL refuses it in values and filters with a 400, and an
// id with it is no record's there, rather than failing with a 500.
func TestNULCharacter(t *testing.T) { forEachDialect(t, testNULCharacter) }

func testNULCharacter(t *testing.T, td testDialect) {
	c := td.client(t, shopYAML)
	// A json field's U+0000 is escaped in the stored JSON: both keep it.
	p := c.create("/api/products", `{"name":"Saw","meta":"x\u0000"}`)
	if p["meta"] != "x\x00" {
		t.Errorf("json: %v", p["meta"])
	}
	c.do("GET", "/api/categories/a%00b", nil).apiErr(404)
	c.do("DELETE", "/api/categories/a%00b", nil).apiErr(404)
	title := `{"title":"a\u0000b"}`
	if td.name == SQLite {
		c.create("/api/categories", title)
		if got := c.do("GET", "/api/categories?title=a%00b", nil).json(200)["total"]; got != float64(1) {
			t.Errorf("filter: %v", got)
		}
		return
	}
	const msg = "must not contain the character U+0000, which PostgreSQL cannot store"
	if _, fields := c.do("POST", "/api/categories", title).apiErr(400); fields["title"] != msg {
		t.Errorf("value: %v", fields)
	}
	if _, fields := c.do("POST", "/api/products", `{"name":"Saw","category":"x\u0000"}`).apiErr(400); fields["category"] != msg {
		t.Errorf("ref: %v", fields)
	}
	if _, fields := c.do("GET", "/api/categories?title=a%00b", nil).apiErr(400); fields["title"] != msg {
		t.Errorf("filter: %v", fields)
	}
}
