package tracker

import (
	"encoding/json"
	"reflect"
)

// JSONTypeMismatch says what a JSON value of the wrong type should have
// been, in JSON's words ("must be string, not number"): the API and the
// mapping document both answer a caller whose JSON decoded into the wrong
// Go type, and Go's type names ("tracker.RetestResult") mean nothing to
// whoever wrote the JSON.
func JSONTypeMismatch(e *json.UnmarshalTypeError) string {
	found := e.Value
	if found == "bool" {
		found = "boolean"
	}
	return "must be " + jsonKind(e.Type) + ", not " + found
}

// jsonKind names the JSON value that decodes into t.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "a JSON value"
}
