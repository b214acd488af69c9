// Package mock is an in-memory HTTP JSON API with optimistic concurrency.
package mock
