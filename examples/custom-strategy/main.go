// Command custom-strategy settles conflicts on a shopping cart with a typed
// resolver. A cart's items are one JSON array, so when two devices change
// it at once the three-way merge sees the same member changed twice: a
// true conflict. The resolver, written with optimist.Typed on Go values,
// applies each side's change of each item's quantity instead, so both
// devices' additions survive.
//
//	go run ./examples/custom-strategy
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/examples/internal/demo"
)

func main() { demo.Main(run) }

// Cart is a shopping cart.
type Cart struct {
	Items []Item `json:"items"`
}

// Item is a line of a cart.
type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

func (c *Cart) String() string {
	if c == nil {
		return "(unknown)"
	}
	parts := make([]string, len(c.Items))
	for i, it := range c.Items {
		parts[i] = fmt.Sprintf("%s x%d", it.SKU, it.Qty)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// qty is the quantity of sku in c, 0 when c is nil or lacks it.
func (c *Cart) qty(sku string) int {
	if c == nil {
		return 0
	}
	for _, it := range c.Items {
		if it.SKU == sku {
			return it.Qty
		}
	}
	return 0
}

// mergeCarts is the strategy: start from the server's cart and apply what
// our side changed of each item's quantity since the version it read (base,
// nil when unknown). Items stay in the order they were first added; an item
// whose quantity drops to 0 is removed.
func mergeCarts(base, ours, theirs *Cart) (*Cart, error) {
	var skus []string
	for _, c := range []*Cart{theirs, ours} {
		for _, it := range c.Items {
			if !slices.Contains(skus, it.SKU) {
				skus = append(skus, it.SKU)
			}
		}
	}
	merged := &Cart{Items: []Item{}}
	for _, sku := range skus {
		if q := theirs.qty(sku) + ours.qty(sku) - base.qty(sku); q > 0 {
			merged.Items = append(merged.Items, Item{SKU: sku, Qty: q})
		}
	}
	return merged, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := demo.Parse("custom-strategy", args, stderr, nil)
	if err != nil {
		return err
	}
	base, _, stop := demo.Server(f)
	defer stop()
	url := base + "/carts/42"

	start := &Cart{Items: []Item{{"apple", 1}}}
	if err := reset(ctx, url, start); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cart 42: %s\n", start)
	if err := twoDevices(ctx, stdout, url); err != nil {
		return err
	}
	var final Cart
	if _, err := optimist.New().Get(ctx, url, &final); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cart 42 on the server: %s\n", &final)
	return nil
}

// twoDevices has a phone and a laptop edit the cart at url from stale
// versions, each with a client that settles conflicts with mergeCarts.
func twoDevices(ctx context.Context, stdout io.Writer, url string) error {
	strategy := optimist.Typed(func(base, ours, theirs *Cart) (*Cart, error) {
		fmt.Fprintf(stdout, "  conflict on the items: the server has %s; this device changed %s to %s\n", theirs, base, ours)
		return mergeCarts(base, ours, theirs)
	})
	phone := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Resolver: strategy}))
	laptop := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Resolver: strategy}))
	var onPhone, onLaptop Cart
	if _, err := phone.Get(ctx, url, &onPhone); err != nil {
		return err
	}
	if _, err := laptop.Get(ctx, url, &onLaptop); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "the phone and the laptop both read it")

	onPhone.Items = append(onPhone.Items, Item{"pear", 2})
	if _, err := phone.Put(ctx, url, &onPhone, &onPhone); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the phone adds 2 pears and saves: %s\n", &onPhone)

	onLaptop.Items[0].Qty++
	onLaptop.Items = append(onLaptop.Items, Item{"milk", 1})
	fmt.Fprintln(stdout, "the laptop, from the version it read, adds an apple and milk and saves")
	if _, err := laptop.Put(ctx, url, &onLaptop, &onLaptop); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved: %s\n", &onLaptop)

	onPhone.Items = slices.DeleteFunc(onPhone.Items, func(it Item) bool { return it.SKU == "pear" })
	fmt.Fprintln(stdout, "the phone, from its own older version, removes the pears and saves")
	if _, err := phone.Put(ctx, url, &onPhone, &onPhone); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved: %s\n", &onPhone)
	return nil
}

// reset writes doc at url whatever is there. optimist sends no write
// without a version, so reset reads the version first (or creates the
// document), and writes over whatever a conflict brings: OursWins.
func reset(ctx context.Context, url string, doc any) error {
	c := optimist.New()
	if _, err := c.Get(ctx, url, nil); errors.Is(err, optimist.ErrNotFound) {
		_, err = c.Put(ctx, url, doc, nil, optimist.CreateOnly())
		return err
	} else if err != nil {
		return err
	}
	_, err := c.Put(ctx, url, doc, nil, optimist.Resolve(optimist.OursWins))
	return err
}
