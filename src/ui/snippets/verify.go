// A bookhook webhook receiver in Go (main.go):
//   go get github.com/standard-webhooks/standard-webhooks/libraries
// Run it with: PORT=8000 go run .
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const secret = "{{SECRET}}"

// Timekit's x-timekit-signature: hex HMAC-SHA256 of the raw body, keyed with the whole secret.
func timekitSignatureOK(body []byte, signature string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(expected), []byte(signature))
}

func main() {
	webhook, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/webhooks/bookhook", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		// Checks webhook-signature over webhook-id, webhook-timestamp (at most 5 minutes old)
		// and the raw body.
		if err := webhook.Verify(body, r.Header); err != nil {
			http.Error(w, "invalid webhook-signature", http.StatusBadRequest)
			return
		}
		if !timekitSignatureOK(body, r.Header.Get("x-timekit-signature")) {
			http.Error(w, "invalid x-timekit-signature", http.StatusBadRequest)
			return
		}
		var booking struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}
		if err := json.Unmarshal(body, &booking); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		// webhook-id is the same on every retry of a message: handle each id once.
		log.Printf("%s: booking %s is %s", r.Header.Get("webhook-id"), booking.ID, booking.State)
		w.WriteHeader(http.StatusNoContent)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8000"
	}
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
