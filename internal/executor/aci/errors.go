package aci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// maxMessage bounds what is quoted of a message from Azure.
const maxMessage = 300

// azureError is an answer of Azure's, said in one line: its status, its
// error code and its message. It unwraps to the SDK's error.
type azureError struct {
	status int
	code   string
	msg    string
	err    error
}

func (e *azureError) Error() string {
	s := fmt.Sprintf("azure answered %d %s", e.status, http.StatusText(e.status))
	if e.code != "" {
		s += " (" + e.code + ")"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

func (e *azureError) Unwrap() error { return e.err }

// explain turns the SDK's multi-line error for an answer into an
// [azureError]; other errors are returned as they are.
func explain(err error) error {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	ae := &azureError{status: re.StatusCode, code: re.ErrorCode, err: err}
	if re.RawResponse != nil {
		if body, perr := runtime.Payload(re.RawResponse); perr == nil {
			var b struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(body, &b) == nil {
				if ae.code == "" {
					ae.code = b.Error.Code
				}
				ae.msg = oneLine(b.Error.Message)
			}
		}
	}
	return ae
}

// statusOf is the HTTP status of Azure's answer in err, or 0.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// codeOf is Azure's error code in err, or "".
func codeOf(err error) string {
	var ae *azureError
	if errors.As(err, &ae) {
		return ae.code
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// oneLine makes text from Azure fit on one line of an attempt's error:
// control characters become spaces, and it is cut at [maxMessage].
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xc0 != 0x80 }
