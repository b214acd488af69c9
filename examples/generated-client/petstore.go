package main

// This file is an API client written by hand in the shape oapi-codegen
// generates for a small pet store (its names included: HttpRequestDoer,
// petId, JSON200). Nothing in it knows about ETags or conflicts.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Pet defines model for Pet.
type Pet struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// UpdatePetJSONRequestBody defines body for UpdatePet for application/json ContentType.
type UpdatePetJSONRequestBody = Pet

// HttpRequestDoer performs HTTP requests.
//
// The standard http.Client implements this interface.
type HttpRequestDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Client which conforms to the OpenAPI3 specification for this service.
type Client struct {
	// The endpoint of the server conforming to this interface, with scheme.
	Server string
	// Doer for performing requests, typically a *http.Client.
	Client HttpRequestDoer
}

// ClientOption allows setting custom parameters during construction.
type ClientOption func(*Client) error

// NewClient creates a new Client, with reasonable defaults.
func NewClient(server string, opts ...ClientOption) (*Client, error) {
	client := Client{Server: strings.TrimSuffix(server, "/") + "/"}
	for _, o := range opts {
		if err := o(&client); err != nil {
			return nil, err
		}
	}
	if client.Client == nil {
		client.Client = &http.Client{}
	}
	return &client, nil
}

// WithHTTPClient allows overriding the default Doer, which is
// automatically created using http.Client. This is useful for tests.
func WithHTTPClient(doer HttpRequestDoer) ClientOption {
	return func(c *Client) error {
		c.Client = doer
		return nil
	}
}

// GetPet sends GET /pets/{petId}.
func (c *Client) GetPet(ctx context.Context, petId string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"pets/"+url.PathEscape(petId), nil)
	if err != nil {
		return nil, err
	}
	return c.Client.Do(req)
}

// UpdatePet sends PUT /pets/{petId} with a JSON body.
func (c *Client) UpdatePet(ctx context.Context, petId string, body UpdatePetJSONRequestBody) (*http.Response, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.Server+"pets/"+url.PathEscape(petId), bytes.NewReader(buf))
	if err != nil {
		return nil, err
	}
	req.Header.Add("Content-Type", "application/json")
	return c.Client.Do(req)
}

// ClientWithResponses builds on Client to offer response payloads.
type ClientWithResponses struct {
	*Client
}

// NewClientWithResponses creates a new ClientWithResponses, which wraps
// Client with return type handling.
func NewClientWithResponses(server string, opts ...ClientOption) (*ClientWithResponses, error) {
	client, err := NewClient(server, opts...)
	if err != nil {
		return nil, err
	}
	return &ClientWithResponses{client}, nil
}

// PetResponse is the parsed answer of GetPet and UpdatePet.
type PetResponse struct {
	Body         []byte
	HTTPResponse *http.Response
	JSON200      *Pet
}

// StatusCode returns HTTPResponse.StatusCode.
func (r PetResponse) StatusCode() int {
	if r.HTTPResponse != nil {
		return r.HTTPResponse.StatusCode
	}
	return 0
}

// GetPetWithResponse request returning *PetResponse.
func (c *ClientWithResponses) GetPetWithResponse(ctx context.Context, petId string) (*PetResponse, error) {
	return parsePetResponse(c.GetPet(ctx, petId))
}

// UpdatePetWithResponse request returning *PetResponse.
func (c *ClientWithResponses) UpdatePetWithResponse(ctx context.Context, petId string, body UpdatePetJSONRequestBody) (*PetResponse, error) {
	return parsePetResponse(c.UpdatePet(ctx, petId, body))
}

// parsePetResponse parses an HTTP response from a GetPet or UpdatePet call.
func parsePetResponse(rsp *http.Response, err error) (*PetResponse, error) {
	if err != nil {
		return nil, err
	}
	bodyBytes, err := io.ReadAll(rsp.Body)
	defer func() { _ = rsp.Body.Close() }()
	if err != nil {
		return nil, err
	}
	response := &PetResponse{Body: bodyBytes, HTTPResponse: rsp}
	if strings.Contains(rsp.Header.Get("Content-Type"), "json") && rsp.StatusCode == http.StatusOK {
		var dest Pet
		if err := json.Unmarshal(bodyBytes, &dest); err != nil {
			return nil, err
		}
		response.JSON200 = &dest
	}
	return response, nil
}
