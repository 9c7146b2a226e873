package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/getkin/kin-openapi/openapi3"
)

// TestManifestRoutesThroughRouter deploys examples/manifest-shop (every
// type and rule) and drives each route and error status through the
// platform's router, as a user's client would.
func TestManifestRoutesThroughRouter(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "shop", Files: example(t, "manifest-shop")})
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)

	status, cat := e.send(d, "POST", "/api/categories", `{"title":"Tools"}`)
	if status != 201 {
		t.Fatalf("POST category = %d %v", status, cat)
	}
	catID := cat["id"].(string)
	valid := `{"name":"Hammer","description":"heavy","price":9.5,"stock":3,"active":true,"releasedAt":"2026-01-02T03:04:05Z","status":"published","category":"` + catID + `","meta":{"color":"red"},"sku":"H-1"}`
	status, product := e.send(d, "POST", "/api/products", valid)
	if status != 201 || product["stock"] != float64(3) || product["status"] != "published" {
		t.Fatalf("POST product = %d %v", status, product)
	}
	productID := product["id"].(string)

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string // a field the error must name
	}{
		{"duplicate unique", "POST", "/api/categories", `{"title":"Tools"}`, 409, ""},
		{"missing required", "POST", "/api/categories", `{}`, 400, "title"},
		{"string too short", "POST", "/api/products", `{"name":"H"}`, 400, "name"},
		{"pattern", "POST", "/api/products", `{"name":"Hammer9"}`, 400, "name"},
		{"number below min", "POST", "/api/products", `{"name":"Saw","price":-1}`, 400, "price"},
		{"integer that is not", "POST", "/api/products", `{"name":"Saw","stock":1.5}`, 400, "stock"},
		{"boolean that is not", "POST", "/api/products", `{"name":"Saw","active":"yes"}`, 400, "active"},
		{"bad date", "POST", "/api/products", `{"name":"Saw","releasedAt":"yesterday"}`, 400, "releasedAt"},
		{"enum value", "POST", "/api/products", `{"name":"Saw","status":"gone"}`, 400, "status"},
		{"ref to nothing", "POST", "/api/products", `{"name":"Saw","category":"01900000-0000-7000-8000-000000000000"}`, 422, "category"},
		{"unknown field", "POST", "/api/products", `{"name":"Saw","colour":"red"}`, 400, ""},
		{"malformed JSON", "POST", "/api/products", `{"name":`, 400, ""},
		{"unknown route", "GET", "/nowhere", "", 404, ""},
		{"unknown entity", "GET", "/api/nothings", "", 404, ""},
		{"unknown id", "GET", "/api/products/01900000-0000-7000-8000-000000000000", "", 404, ""},
		{"wrong method", "DELETE", "/api/products", "", 405, ""},
		{"limit too large", "GET", "/api/products?limit=501", "", 400, ""},
		{"unknown filter", "GET", "/api/products?colour=red", "", 400, ""},
		{"unknown sort", "GET", "/api/products?sort=colour", "", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.send(d, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("%s %s = %d %v, want %d", tc.method, tc.path, status, body, tc.status)
			}
			errBody, _ := body["error"].(map[string]any)
			if errBody == nil || errBody["message"] == nil {
				t.Fatalf("error body %v is not the JSON error shape", body)
			}
			if tc.field != "" && !strings.Contains(mustJSON(body), `"field":"`+tc.field+`"`) {
				t.Errorf("error %v does not name field %s", body, tc.field)
			}
		})
	}

	t.Run("wrong content type", func(t *testing.T) {
		u, _ := url.Parse(d.GetUrl())
		res, err := e.appClient().Post("http://"+u.Host+"/api/products", "text/plain", strings.NewReader(valid))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 415 {
			t.Errorf("status %d, want 415", res.StatusCode)
		}
	})
	t.Run("body over 1 MiB", func(t *testing.T) {
		if status, _ := e.send(d, "POST", "/api/products", `{"name":"Big","description":"`+strings.Repeat("x", 1<<20)+`"}`); status != 413 {
			t.Errorf("status %d, want 413", status)
		}
	})
	t.Run("list, sort, filter", func(t *testing.T) {
		e.send(d, "POST", "/api/products", `{"name":"Saw","price":20,"sku":"S-1"}`)
		status, list := e.send(d, "GET", "/api/products?sort=-price&price[gt]=5&limit=10", "")
		items, _ := list["items"].([]any)
		if status != 200 || list["total"] != float64(2) || len(items) != 2 || items[0].(map[string]any)["name"] != "Saw" {
			t.Errorf("list = %d %v", status, list)
		}
		if status, list := e.send(d, "GET", "/api/products?name=Hammer", ""); status != 200 || list["total"] != float64(1) {
			t.Errorf("filter by equality = %d %v", status, list)
		}
	})
	t.Run("update and delete", func(t *testing.T) {
		if status, p := e.send(d, "PATCH", "/api/products/"+productID, `{"stock":7}`); status != 200 || p["stock"] != float64(7) || p["name"] != "Hammer" {
			t.Errorf("PATCH = %d %v", status, p)
		}
		if status, p := e.send(d, "PUT", "/api/products/"+productID, `{"name":"Mallet","sku":"M-1"}`); status != 200 || p["name"] != "Mallet" || p["stock"] != float64(0) {
			t.Errorf("PUT = %d %v", status, p)
		}
		if status, _ := e.send(d, "DELETE", "/api/products/"+productID, ""); status != 204 {
			t.Errorf("DELETE = %d", status)
		}
		if status, _ := e.send(d, "GET", "/api/products/"+productID, ""); status != 404 {
			t.Errorf("GET after DELETE = %d", status)
		}
	})
	t.Run("describe", func(t *testing.T) {
		if status, _ := e.send(d, "GET", "/health", ""); status != 200 {
			t.Errorf("/health = %d", status)
		}
		if status, api := e.send(d, "GET", "/api", ""); status != 200 || !strings.Contains(mustJSON(api), "Product") {
			t.Errorf("/api = %d %v", status, api)
		}
		// The served document loads and validates with kin-openapi.
		u, _ := url.Parse(d.GetUrl())
		res, err := e.appClient().Get("http://" + u.Host + "/api/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("/api/openapi.json = %d, load: %v", res.StatusCode, err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Errorf("/api/openapi.json does not validate: %v", err)
		}
		if !doc.IsOpenAPI31OrLater() || doc.Paths.Find("/api/products/{id}").GetOperation("PATCH") == nil {
			t.Errorf("/api/openapi.json: version %s, paths %v", doc.OpenAPI, doc.Paths.InMatchingOrder())
		}
	})
	t.Run("CORS preflight", func(t *testing.T) {
		u, _ := url.Parse(d.GetUrl())
		req, _ := http.NewRequest(http.MethodOptions, "http://"+u.Host+"/api/products", nil)
		req.Header.Set("Origin", "http://example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := e.appClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 300 || res.Header.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("preflight = %d %v", res.StatusCode, res.Header)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
