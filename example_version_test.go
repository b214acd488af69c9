package optimist_test

import (
	"context"
	"fmt"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// A CouchDB-style API keeps the revision in the document, as "_rev", and
// answers a write with {"ok":true,"rev":...}. JSONField makes optimist
// read the revision from there, send it back in the body, and keep it out
// of every merge.
func ExampleJSONField() {
	s := mock.NewServer(mock.WithVersionField("/_rev"), mock.WithCouchDBResponses())
	defer s.Close()
	_ = s.Seed("/db/counter", []byte(`{"count":0}`))
	ctx := context.Background()

	c := optimist.New(optimist.WithVersionToken(optimist.JSONField("/_rev")))
	type counter struct {
		Count int `json:"count"`
	}
	for range 3 {
		if _, err := optimist.Update(ctx, c, s.URL+"/db/counter", func(v *counter) error {
			v.Count++
			return nil
		}); err != nil {
			fmt.Println(err)
			return
		}
	}
	var doc map[string]any
	if _, err := c.Get(ctx, s.URL+"/db/counter", &doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("count:", doc["count"], "revision generation:", doc["_rev"].(string)[:2])
	// Output: count: 3 revision generation: 4-
}
