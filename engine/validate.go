package engine

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
)

// FieldError is one invalid value, named by its JSON path relative to the
// document it came from: `sites[3].operator.country`, `candidates[0]`.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String reads path: message.
func (e FieldError) String() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// validate is built once: validator caches struct metadata per type and its
// registration methods are not safe to call concurrently with validation, so
// every custom tag is registered here, before any use.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(jsonFieldName)
	for tag, fn := range map[string]validator.Func{
		"jurisdiction": isJurisdiction,
		"dns_label":    isDNSLabel,
	} {
		if err := v.RegisterValidation(tag, fn); err != nil {
			panic(fmt.Sprintf("register validation %q: %v", tag, err))
		}
	}
	v.RegisterStructValidation(validateMechanism, Mechanism{})
	return v
}

// jsonFieldName names fields by their JSON name so that paths read as the
// documents clients send. A field without a JSON name keeps its Go name.
func jsonFieldName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// jurisdictionGroup is the shape of a group name defined by the policy's
// reference data (EEA, EFTA, ...). Two-letter values are read as country codes,
// so a group needs at least three characters, except groupEU.
var jurisdictionGroup = regexp.MustCompile(`^[A-Z][A-Z0-9_-]{2,31}$`)

// groupEU is the one two-letter group: ISO 3166 reserves EU for the European
// Union, so it cannot clash with a country code.
const groupEU = "EU"

// isJurisdiction accepts an ISO 3166-1 alpha-2 country code in upper case or a
// group name. Which groups exist is the policy's business, not Go's: the
// shape alone is checked here.
func isJurisdiction(fl validator.FieldLevel) bool {
	return isJurisdictionValue(fl.Field().String())
}

// builtin runs validator's own tags on single values. It is separate from
// validate, whose custom tags use it, to keep initialisation acyclic.
var builtin = validator.New()

func isCountryCode(s string) bool {
	return builtin.Var(s, "iso3166_1_alpha2") == nil
}

// dnsLabel is an RFC 1123 label, as Kubernetes names are: site ids appear in
// node labels and URLs.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func isDNSLabel(fl validator.FieldLevel) bool {
	return dnsLabel.MatchString(fl.Field().String())
}

// tagDerogationRequired is reported by validateMechanism.
const tagDerogationRequired = "derogation_required"

// validateMechanism requires the derogation to be named when a transfer relies
// on one (GDPR Art. 49(1)): "derogation" alone says nothing a policy can check.
// A struct-level rule rather than required_if, which names Go fields and would
// leak them into messages.
func validateMechanism(sl validator.StructLevel) {
	m := sl.Current().Interface().(Mechanism)
	if m.Kind == "derogation" && m.Derogation == "" {
		sl.ReportError(m.Derogation, "derogation", "Derogation", tagDerogationRequired, "")
	}
}

// ValidateStruct checks v against its validate tags and returns every problem,
// each with its JSON path under prefix (for example "sites[3]" or "dataset";
// "" for a top-level request). It returns nil when v is valid.
//
// DatasetRef and WorkloadRef are not descended into: an inline dataset or
// workload is validated by whoever resolves the reference, under its own path.
func ValidateStruct(v any, prefix string) []FieldError {
	err := validate.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		// Only a nil or non-struct value gets here: a caller's bug, but it is
		// reported as the missing value it is rather than a panic.
		return []FieldError{{Path: prefix, Message: "is required"}}
	}
	out := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		out = append(out, FieldError{Path: joinPath(prefix, relativePath(fe.Namespace())), Message: message(fe)})
	}
	return out
}

// relativePath drops the root struct's name from a validator namespace, which
// is already in JSON names: "Site.operator.country" → "operator.country".
func relativePath(ns string) string {
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ""
}

func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}

// messages says in words what each tag used on the model wants; got is the
// offending value, ready to append. Every tag in a validate struct tag of the
// model needs an entry (TestEveryTagHasAMessage).
var messages = map[string]func(fe validator.FieldError, got string) string{
	"required": func(validator.FieldError, string) string { return "is required" },
	tagDerogationRequired: func(validator.FieldError, string) string {
		return `is required when kind is "derogation": name the GDPR Art. 49 ground (consent, contract, public-interest, ...)`
	},
	"oneof": func(fe validator.FieldError, got string) string { return "must be one of: " + fe.Param() + got },
	"iso3166_1_alpha2": func(fe validator.FieldError, got string) string {
		return "must be an ISO 3166-1 alpha-2 country code in upper case" + got + spellingHint(fe, isCountryCode)
	},
	"iso3166_2": func(fe validator.FieldError, got string) string {
		return "must be an ISO 3166-2 subdivision code such as DE-HE" + got + spellingHint(fe, isSubdivisionCode)
	},
	"jurisdiction": func(fe validator.FieldError, got string) string {
		return "must be an ISO 3166-1 alpha-2 country code in upper case or a jurisdiction group name such as EU or EEA" + got + spellingHint(fe, isJurisdictionValue)
	},
	"dns_label": func(_ validator.FieldError, got string) string {
		return "must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit" + got
	},
	"datetime": func(fe validator.FieldError, got string) string { return "must be " + layoutName(fe.Param()) + got },
	"min":      func(fe validator.FieldError, got string) string { return "must " + sizeBound(fe, "at least") + got },
	"max":      func(fe validator.FieldError, got string) string { return "must " + sizeBound(fe, "at most") + got },
	"gte": func(fe validator.FieldError, got string) string {
		if fe.Param() == "0" {
			return "must not be negative" + got
		}
		return "must be at least " + fe.Param() + got
	},
}

// message says in words what a failed tag wants, and what it got.
func message(fe validator.FieldError) string {
	got := gotValue(fe)
	if m, ok := messages[fe.Tag()]; ok {
		return m(fe, got)
	}
	if fe.Param() != "" {
		return fmt.Sprintf("fails the %s=%s check%s", fe.Tag(), fe.Param(), got)
	}
	return fmt.Sprintf("fails the %s check%s", fe.Tag(), got)
}

// maxQuoted bounds how much of a long value a message repeats.
const maxQuoted = 64

// gotValue quotes the offending value for scalars. Lists and maps are left
// out: their length is what the message is about.
func gotValue(fe validator.FieldError) string {
	switch v := fe.Value().(type) {
	case string:
		if r := []rune(v); len(r) > maxQuoted {
			return fmt.Sprintf(", got %q… (%d characters)", string(r[:maxQuoted]), len(r))
		}
		return fmt.Sprintf(", got %q", v)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprintf(", got %v", v)
	default:
		return ""
	}
}

// spellingHint suggests the upper-case spelling when that is the only
// problem, and GB for the United Kingdom, whose usual abbreviation is not its
// ISO code.
func spellingHint(fe validator.FieldError, valid func(string) bool) string {
	s, ok := fe.Value().(string)
	if !ok || s == "" {
		return ""
	}
	up := strings.ToUpper(s)
	switch {
	case up == "UK":
		return ` (the United Kingdom is "GB")`
	case up != s && valid(up):
		return fmt.Sprintf(" (did you mean %q?)", up)
	default:
		return ""
	}
}

func isSubdivisionCode(s string) bool {
	return builtin.Var(s, "iso3166_2") == nil
}

func isJurisdictionValue(s string) bool {
	return isCountryCode(s) || s == groupEU || jurisdictionGroup.MatchString(s)
}

func layoutName(layout string) string {
	switch layout {
	case "2006-01-02":
		return "a date in the form YYYY-MM-DD"
	case "2006-01-02T15:04:05Z07:00":
		return "an RFC 3339 time such as 2026-11-27T10:00:00Z"
	default:
		return "a time in the layout " + layout
	}
}

// sizeBound words min and max for the kind of field they bound.
func sizeBound(fe validator.FieldError, bound string) string {
	n := fe.Param()
	switch fe.Kind() {
	case reflect.String:
		return fmt.Sprintf("be %s %s %s long", bound, n, plural(n, "character"))
	case reflect.Slice, reflect.Array, reflect.Map:
		return fmt.Sprintf("have %s %s %s", bound, n, plural(n, "entry"))
	default:
		return fmt.Sprintf("be %s %s", bound, n)
	}
}

func plural(n, word string) string {
	if i, err := strconv.Atoi(n); err == nil && i == 1 {
		return word
	}
	if strings.HasSuffix(word, "y") {
		return strings.TrimSuffix(word, "y") + "ies"
	}
	return word + "s"
}
