package optimist_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// Updates whose request options are equal, such as a header every write
// must carry, are committed together; different credentials never are.
func ExampleUpdate_groupCommit() {
	s := mock.NewServer()
	defer s.Close()
	_ = s.Seed("/blobs/counter", []byte(`{"count":0}`))
	url := s.URL + "/blobs/counter"
	c := optimist.New(optimist.WithHTTPClient(s.Client()))

	type Counter struct {
		Count int `json:"count"`
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				ctx := optimist.NewContext(context.Background(), optimist.Header("Authorization", "Bearer alice"))
				_, err := optimist.Update(ctx, c, url, func(v *Counter) error {
					v.Count++
					return nil
				}, optimist.Header("X-Ms-Blob-Type", "BlockBlob"))
				if err != nil {
					fmt.Println(err)
				}
			}
		}()
	}
	wg.Wait()
	body, _, _ := s.Document("/blobs/counter")
	fmt.Println(string(body))
	// Output: {"count":40}
}
