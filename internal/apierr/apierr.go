// Package apierr writes the service's JSON error body,
// {"error":{"code":"...","message":"..."}}, which every route uses.
package apierr

import "github.com/gin-gonic/gin"

// Body is the error envelope.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the error itself.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Abort writes the error and stops the handler chain. Under an OpenAI
// prefix (OpenAIShape) the error takes OpenAI's shape instead.
func Abort(c *gin.Context, status int, code, message string) {
	if IsOpenAI(c) {
		AbortOpenAI(c, status, code, "", message)
		return
	}
	c.AbortWithStatusJSON(status, Body{Error: Detail{Code: code, Message: message}})
}
