package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonicalize re-encodes a JSON document in Sovereign's canonical form, the
// byte string that record signatures and request digests are computed over:
//
//   - no insignificant whitespace;
//   - object members sorted by key, comparing the keys' UTF-8 bytes; a
//     duplicate key is an error;
//   - strings escape only '"', '\\' and the control characters U+0000–U+001F
//     (as \b \f \n \r \t, else \u00xx in lower-case hex); every other
//     character is written as its UTF-8 bytes (escapes in the input are
//     decoded first); invalid UTF-8 and unpaired surrogate escapes are errors;
//   - numbers are kept exactly as written (no float conversion, so 64-bit
//     integers and long decimals keep their precision; 1.0 and 1 differ);
//   - literals true, false and null as themselves;
//   - exactly one value, nothing after it.
//
// Canonicalize is idempotent: canonical input comes back byte for byte.
func Canonicalize(doc []byte) ([]byte, error) {
	p := canonParser{in: doc}
	out := make([]byte, 0, len(doc))
	out, err := p.value(out, 0)
	if err == nil {
		p.skipSpace()
		if p.pos != len(p.in) {
			err = errors.New("data after the top-level value")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("canonical json: at byte %d: %w", p.pos, err)
	}
	return out, nil
}

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 1000

// canonParser is a strict RFC 8259 parser that writes the canonical form as
// it goes; objects are buffered to sort their members.
type canonParser struct {
	in  []byte
	pos int
}

func (p *canonParser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *canonParser) value(out []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	p.skipSpace()
	if p.pos >= len(p.in) {
		return nil, io.ErrUnexpectedEOF
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(out, depth)
	case c == '[':
		return p.array(out, depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return appendCanonString(out, s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(out)
	case bytes.HasPrefix(p.in[p.pos:], []byte("true")):
		p.pos += 4
		return append(out, "true"...), nil
	case bytes.HasPrefix(p.in[p.pos:], []byte("false")):
		p.pos += 5
		return append(out, "false"...), nil
	case bytes.HasPrefix(p.in[p.pos:], []byte("null")):
		p.pos += 4
		return append(out, "null"...), nil
	default:
		return nil, fmt.Errorf("unexpected character %q", c)
	}
}

// canonMember is an object member written to the output: its key, and where
// "key":value sits in it.
type canonMember struct {
	key        string
	start, end int
}

// object writes the members to out as they come, each value straight into
// out (no buffer per member); only an object whose keys were not already in
// order is rewritten, once, in order.
func (p *canonParser) object(out []byte, depth int) ([]byte, error) {
	p.pos++ // {
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		return append(out, "{}"...), nil
	}
	var small [16]canonMember
	members := small[:0]
	open := len(out)
	out = append(out, '{')
	sorted := true
	for {
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, io.ErrUnexpectedEOF
		}
		if p.in[p.pos] != '"' {
			return nil, fmt.Errorf("object key must be a string, found %q", p.in[p.pos])
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return nil, errors.New("missing ':' after object key")
		}
		p.pos++
		if n := len(members); n > 0 {
			out = append(out, ',')
			if c := strings.Compare(members[n-1].key, key); c == 0 {
				return nil, fmt.Errorf("duplicate object key %q", key)
			} else if c > 0 {
				sorted = false
			}
		}
		m := canonMember{key: key, start: len(out)}
		out = appendCanonString(out, key)
		out = append(out, ':')
		if out, err = p.value(out, depth+1); err != nil {
			return nil, err
		}
		m.end = len(out)
		members = append(members, m)
		done, err := p.next('}')
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
	}
	if !sorted {
		written := bytes.Clone(out[open+1:])
		base := open + 1
		slices.SortFunc(members, func(a, b canonMember) int { return strings.Compare(a.key, b.key) })
		out = out[:base]
		for i, m := range members {
			if i > 0 {
				if members[i-1].key == m.key {
					return nil, fmt.Errorf("duplicate object key %q", m.key)
				}
				out = append(out, ',')
			}
			out = append(out, written[m.start-base:m.end-base]...)
		}
	}
	return append(out, '}'), nil
}

func (p *canonParser) array(out []byte, depth int) ([]byte, error) {
	p.pos++ // [
	out = append(out, '[')
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		return append(out, ']'), nil
	}
	for i := 0; ; i++ {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = p.value(out, depth+1); err != nil {
			return nil, err
		}
		done, err := p.next(']')
		if err != nil {
			return nil, err
		}
		if done {
			return append(out, ']'), nil
		}
	}
}

// next consumes what follows a member or element: a ',' (false: more follow)
// or the closing bracket (true).
func (p *canonParser) next(closing byte) (bool, error) {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return false, io.ErrUnexpectedEOF
	}
	switch p.in[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, fmt.Errorf("expected ',' or '%c', found %q", closing, p.in[p.pos])
}

// number copies a JSON number as written after checking its grammar.
func (p *canonParser) number(out []byte) ([]byte, error) {
	start := p.pos
	in := p.in
	digits := func() int {
		n := 0
		for p.pos < len(in) && in[p.pos] >= '0' && in[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if in[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(in) && in[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, errors.New("invalid number")
	}
	if p.pos < len(in) && in[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, errors.New("invalid number: no digits after '.'")
		}
	}
	if p.pos < len(in) && (in[p.pos] == 'e' || in[p.pos] == 'E') {
		p.pos++
		if p.pos < len(in) && (in[p.pos] == '+' || in[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, errors.New("invalid number: no digits in exponent")
		}
	}
	return append(out, in[start:p.pos]...), nil
}

// str parses a string literal and returns its decoded value. Invalid UTF-8,
// raw control characters and unpaired surrogate escapes are errors.
func (p *canonParser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	in := p.in
	// Fast path: no escapes.
	for p.pos < len(in) {
		c := in[p.pos]
		if c == '"' {
			raw := in[start:p.pos]
			p.pos++
			if !utf8.Valid(raw) {
				return "", errors.New("invalid UTF-8 in string")
			}
			return string(raw), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), in[start:p.pos]...)
	for {
		if p.pos >= len(in) {
			return "", io.ErrUnexpectedEOF
		}
		c := in[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				return "", errors.New("invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			return "", errors.New("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(in) {
			return "", io.ErrUnexpectedEOF
		}
		e := in[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || !bytes.HasPrefix(in[p.pos:], []byte("\\u")) {
					return "", errors.New("unpaired surrogate escape")
				}
				p.pos += 2
				r2, err := p.hex4()
				if err != nil {
					return "", err
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", errors.New("invalid surrogate pair escape")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", fmt.Errorf("invalid escape \\%c", e)
		}
	}
}

// skipValue moves past one value without decoding it: strings are skipped
// escape-aware, containers by bracket depth, scalars to the next delimiter.
func (p *canonParser) skipValue() error {
	depth := 0
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			for p.pos < len(p.in) && p.in[p.pos] != '"' {
				if p.in[p.pos] == '\\' {
					p.pos++
				}
				p.pos++
			}
			if p.pos >= len(p.in) {
				return io.ErrUnexpectedEOF
			}
			p.pos++
		case c == '{' || c == '[':
			depth++
			p.pos++
		case c == '}' || c == ']':
			if depth == 0 {
				return nil // the end of the enclosing container
			}
			depth--
			p.pos++
		case c == ',' && depth == 0:
			return nil
		default:
			p.pos++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return nil
		}
	}
	if depth > 0 {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (p *canonParser) hex4() (rune, error) {
	if p.pos+4 > len(p.in) {
		return 0, io.ErrUnexpectedEOF
	}
	var r rune
	for _, c := range p.in[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, errors.New("invalid \\u escape")
		}
	}
	p.pos += 4
	return r, nil
}

const hexDigits = "0123456789abcdef"

func writeCanonString(out *bytes.Buffer, s string) {
	out.Write(appendCanonString(out.AvailableBuffer(), s))
}

func appendCanonString(out []byte, s string) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, s[start:i]...)
		switch c {
		case '"':
			out = append(out, `\"`...)
		case '\\':
			out = append(out, `\\`...)
		case '\b':
			out = append(out, `\b`...)
		case '\f':
			out = append(out, `\f`...)
		case '\n':
			out = append(out, `\n`...)
		case '\r':
			out = append(out, `\r`...)
		case '\t':
			out = append(out, `\t`...)
		default:
			out = append(out, `\u00`...)
			out = append(out, hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}

// canonicalJSON marshals v with encoding/json and canonicalizes the result.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Canonicalize(b)
}
