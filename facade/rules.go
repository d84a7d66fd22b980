package facade

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // TimeWindows zones load on hosts without a zone database
	"unicode/utf8"
)

// ContentMatchEffect is what a content_match rule does when it fires.
type ContentMatchEffect string

// The effects of a content_match rule.
const (
	EffectDeny   ContentMatchEffect = "deny"    // refuse the request (the default)
	EffectRedact ContentMatchEffect = "redact"  // remove ContentMatch.RedactFields from the forwarded body
	EffectStepUp ContentMatchEffect = "step_up" // require a session younger than ContentMatch.MaxSessionAge
)

// ContentMatchFamily is a coarse operation family a content_match rule can bind to.
type ContentMatchFamily string

// The operation families.
const (
	FamilySend    ContentMatchFamily = "send"
	FamilyRead    ContentMatchFamily = "read"
	FamilyWrite   ContentMatchFamily = "write"
	FamilyDelete  ContentMatchFamily = "delete"
	FamilyAdmin   ContentMatchFamily = "admin"
	FamilyPayment ContentMatchFamily = "payment"
)

// ContentParamOp is the operator of a ContentParamCondition.
type ContentParamOp string

// The operators. String comparisons are case-insensitive with surrounding white space trimmed,
// so a case or padding variant cannot dodge a condition.
const (
	OpEquals         ContentParamOp = "equals"          // scalar equality; a set parameter matches only as a single exact value
	OpAnyIn          ContentParamOp = "any_in"          // the parameter meets one of the glob patterns ("*@acme.com")
	OpNotSubsetOf    ContentParamOp = "not_subset_of"   // fires when a member matches none of the patterns (an allowlist)
	OpGT             ContentParamOp = "gt"              // numeric >
	OpGTE            ContentParamOp = "gte"             // numeric >=
	OpLT             ContentParamOp = "lt"              // numeric <
	OpLTE            ContentParamOp = "lte"             // numeric <=
	OpOutsideWindows ContentParamOp = "outside_windows" // fires when a time range is not wholly inside the TimeWindows
)

// ContentParamCondition is one parameter condition of a content_match rule; a rule's conditions
// are ANDed. Value depends on Op:
//
//   - OpEquals: a string or a finite number (any Go integer or float type);
//   - OpAnyIn, OpNotSubsetOf: a non-empty []string of glob patterns;
//   - OpGT, OpGTE, OpLT, OpLTE: a finite number;
//   - OpOutsideWindows: TimeWindows.
type ContentParamCondition struct {
	Name  string // the projected request parameter, e.g. "recipients"
	Op    ContentParamOp
	Value any
}

// TimeWindow is one window of TimeWindows: local Start to End ("HH:MM", End may be "24:00") on
// Days. An End before Start is an overnight window.
type TimeWindow struct {
	Days       []time.Weekday // unique; sent as "mon" … "sun"
	Start, End string
}

// TimeWindows is the operand of OpOutsideWindows: windows in the IANA zone Timezone (an exact
// key such as "America/New_York"; the zone database is embedded).
type TimeWindows struct {
	Windows  []TimeWindow
	Timezone string
}

// ContentMatch describes a content_match rule for ContentMatchRule. At least one of Operations
// and Families is needed.
type ContentMatch struct {
	Operations []string                // attested operation ids, e.g. "gmail.users.messages.send"
	Families   []ContentMatchFamily    // operation families
	Params     []ContentParamCondition // ANDed: the rule fires only when all hold
	Effect     ContentMatchEffect      // "" is EffectDeny
	// RedactFields are the body fields EffectRedact removes (required with it, refused without).
	RedactFields []string
	// MaxSessionAge is EffectStepUp's bound on the session's age: whole seconds from 1 s to 24 h
	// (required with it, refused without).
	MaxSessionAge time.Duration
}

// The vault's authoring limits on a content_match body.
const (
	maxMatchEntries    = 100
	maxOperationID     = 255
	maxParamConditions = 20
	maxParamName       = 120
	maxValueEntries    = 200
	maxValueLength     = 512
	maxRedactFields    = 50
	maxRedactField     = 120
	maxTimeWindows     = 20
	maxStepUpAge       = 24 * time.Hour
)

var dayTokens = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ContentMatchRule builds and checks a content_match RequestRule for Constraints.Rule, with the
// vault's own limits, so an authoring mistake fails here (an *InputError matching
// ErrInvalidInput) rather than as a 400 on the first constrained call. The body is the one
// alter-sdk 0.29.0's content_match_rule writes, byte for byte.
func ContentMatchRule(m ContentMatch) (RequestRule, error) {
	body, err := contentMatchBody(m)
	if err != nil {
		return RequestRule{}, err
	}
	return RequestRule{Type: "content_match", Body: body}, nil
}

func ruleErr(reason string) error {
	return inputErr("ContentMatch", "content_match_rule: "+reason, nil)
}

func contentMatchBody(m ContentMatch) ([]byte, error) {
	effect := m.Effect
	if effect == "" {
		effect = EffectDeny
	}
	if effect != EffectDeny && effect != EffectRedact && effect != EffectStepUp {
		return nil, ruleErr("'effect' must be one of ['deny', 'redact', 'step_up']")
	}
	for _, op := range m.Operations {
		if op == "" || utf8.RuneCountInString(op) > maxOperationID || !utf8.ValidString(op) {
			return nil, ruleErr("'operations' entries must be non-empty strings of at most " + strconv.Itoa(maxOperationID) + " characters")
		}
	}
	for _, f := range m.Families {
		switch f {
		case FamilySend, FamilyRead, FamilyWrite, FamilyDelete, FamilyAdmin, FamilyPayment:
		default:
			return nil, ruleErr("unknown family " + pyRepr(string(f)) + " (known: ['admin', 'delete', 'payment', 'read', 'send', 'write'])")
		}
	}
	if len(m.Operations) == 0 && len(m.Families) == 0 {
		return nil, ruleErr("at least one of 'operations' / 'families' is required")
	}
	if len(m.Operations)+len(m.Families) > maxMatchEntries {
		return nil, ruleErr("at most " + strconv.Itoa(maxMatchEntries) + " combined 'operations' / 'families' entries")
	}
	if len(m.Params) > maxParamConditions {
		return nil, ruleErr("'params' accepts at most " + strconv.Itoa(maxParamConditions) + " conditions")
	}
	b := []byte(`{"match":{`)
	if len(m.Operations) > 0 {
		b = appendStrings(append(b, `"operations":`...), m.Operations)
	}
	if len(m.Families) > 0 {
		if len(m.Operations) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"families":[`...)
		for i, f := range m.Families {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRuleString(b, string(f))
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	for i, c := range m.Params {
		if i == 0 {
			b = append(b, `,"params":[`...)
		} else {
			b = append(b, ',')
		}
		var err error
		if b, err = appendCondition(b, c); err != nil {
			return nil, err
		}
	}
	if len(m.Params) > 0 {
		b = append(b, ']')
	}
	if err := checkObligations(effect, m); err != nil {
		return nil, err
	}
	b = appendRuleString(append(b, `,"effect":`...), string(effect))
	switch effect {
	case EffectRedact:
		b = append(appendStrings(append(b, `,"redact":{"fields":`...), m.RedactFields), '}')
	case EffectStepUp:
		b = strconv.AppendInt(append(b, `,"step_up":{"max_session_age_seconds":`...), int64(m.MaxSessionAge/time.Second), 10)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// checkObligations enforces RedactFields iff redact and MaxSessionAge iff step_up.
func checkObligations(effect ContentMatchEffect, m ContentMatch) error {
	if effect != EffectRedact && m.RedactFields != nil {
		return ruleErr("'redact_fields' only applies to effect='redact'")
	}
	if effect != EffectStepUp && m.MaxSessionAge != 0 {
		return ruleErr("'max_session_age_seconds' only applies to effect='step_up'")
	}
	if effect == EffectRedact {
		if len(m.RedactFields) == 0 {
			return ruleErr("effect='redact' requires 'redact_fields' (a non-empty sequence of field names)")
		}
		for _, f := range m.RedactFields {
			if f == "" || !utf8.ValidString(f) {
				return ruleErr("'redact_fields' entries must be non-empty strings (and at least one is required)")
			}
		}
		if len(m.RedactFields) > maxRedactFields || slices.ContainsFunc(m.RedactFields, func(f string) bool { return utf8.RuneCountInString(f) > maxRedactField }) {
			return ruleErr("'redact_fields' accepts at most " + strconv.Itoa(maxRedactFields) + " field names of at most " + strconv.Itoa(maxRedactField) + " characters each")
		}
	}
	if effect == EffectStepUp && (m.MaxSessionAge < time.Second || m.MaxSessionAge > maxStepUpAge || m.MaxSessionAge%time.Second != 0) {
		return ruleErr("effect='step_up' requires 'max_session_age_seconds' (an integer in [1, 86400]): MaxSessionAge in whole seconds from 1s to 24h")
	}
	return nil
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRuleString(b, s)
	}
	return append(b, ']')
}

func appendCondition(b []byte, c ContentParamCondition) ([]byte, error) {
	if c.Name == "" || utf8.RuneCountInString(c.Name) > maxParamName || !utf8.ValidString(c.Name) {
		return nil, ruleErr("params 'name' must be a non-empty string of at most " + strconv.Itoa(maxParamName) + " characters")
	}
	b = appendRuleString(append(b, `{"name":`...), c.Name)
	b = append(b, `,"op":`...)
	op := string(c.Op)
	b = appendRuleString(b, op)
	b = append(b, `,"value":`...)
	var err error
	switch c.Op {
	case OpOutsideWindows:
		b, err = appendWindows(b, c.Value)
	case OpGT, OpGTE, OpLT, OpLTE:
		var ok bool
		if b, ok = appendNumber(b, c.Value); !ok {
			err = ruleErr("params op " + pyRepr(op) + " requires a finite numeric 'value'")
		}
	case OpEquals:
		if s, isStr := c.Value.(string); isStr && utf8.ValidString(s) {
			b = appendRuleString(b, s)
		} else if b2, ok := appendNumber(b, c.Value); ok {
			b = b2
		} else {
			err = ruleErr("params op 'equals' requires a scalar 'value' (string or finite number)")
		}
	case OpAnyIn, OpNotSubsetOf:
		b, err = appendPatterns(b, op, c.Value)
	default:
		err = ruleErr("params 'op' must be one of ['any_in', 'equals', 'gt', 'gte', 'lt', 'lte', 'not_subset_of', 'outside_windows']")
	}
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendPatterns(b []byte, op string, v any) ([]byte, error) {
	ps, _ := v.([]string)
	if len(ps) == 0 || slices.ContainsFunc(ps, func(p string) bool { return p == "" || !utf8.ValidString(p) }) {
		return nil, ruleErr("params op " + pyRepr(op) + " requires a non-empty list of pattern strings")
	}
	if len(ps) > maxValueEntries || slices.ContainsFunc(ps, func(p string) bool { return utf8.RuneCountInString(p) > maxValueLength }) {
		return nil, ruleErr("params op " + pyRepr(op) + " accepts at most " + strconv.Itoa(maxValueEntries) +
			" pattern entries of at most " + strconv.Itoa(maxValueLength) + " characters each")
	}
	return appendStrings(b, ps), nil
}

// appendNumber appends a finite Go number (of any integer or float kind, named types included):
// an integer in decimal, a float as Python prints it.
func appendNumber(b []byte, v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, rv.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return appendFinite(b, rv.Float())
	}
	return b, false
}

func appendFinite(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	return appendPyFloat(b, f), true
}

func appendWindows(b []byte, v any) ([]byte, error) {
	fail := func(detail string) error { return ruleErr("params op 'outside_windows' " + detail) }
	var tw TimeWindows
	switch w := v.(type) {
	case TimeWindows:
		tw = w
	case *TimeWindows:
		if w == nil {
			return nil, fail("requires a TimeWindows with 'windows' and 'timezone'")
		}
		tw = *w
	default:
		return nil, fail("requires a TimeWindows with 'windows' and 'timezone'")
	}
	if err := checkZone(tw.Timezone, fail); err != nil {
		return nil, err
	}
	if len(tw.Windows) < 1 || len(tw.Windows) > maxTimeWindows {
		return nil, fail("requires 1-" + strconv.Itoa(maxTimeWindows) + " 'windows'")
	}
	b = append(b, `{"windows":[`...)
	for i, w := range tw.Windows {
		if i > 0 {
			b = append(b, ',')
		}
		var seen [7]bool
		if len(w.Days) == 0 {
			return nil, fail("window 'days' must be unique tokens from mon..sun")
		}
		b = append(b, `{"days":[`...)
		for j, d := range w.Days {
			if d < time.Sunday || d > time.Saturday || seen[d] {
				return nil, fail("window 'days' must be unique tokens from mon..sun")
			}
			seen[d] = true
			if j > 0 {
				b = append(b, ',')
			}
			b = appendRuleString(b, dayTokens[d])
		}
		if !clock(w.Start) {
			return nil, fail("window 'start' must be 'HH:MM' (00:00-23:59)")
		}
		if w.End != "24:00" && !clock(w.End) {
			return nil, fail("window 'end' must be 'HH:MM' (00:00-23:59) or '24:00'")
		}
		if w.Start == w.End {
			return nil, fail("window 'start' and 'end' must differ")
		}
		b = appendRuleString(append(b, `],"start":`...), w.Start)
		b = append(appendRuleString(append(b, `,"end":`...), w.End), '}')
	}
	b = appendRuleString(append(b, `],"timezone":`...), tw.Timezone)
	return append(b, '}'), nil
}

// clock reports whether s is "HH:MM" from 00:00 to 23:59.
func clock(s string) bool {
	if len(s) != 5 || s[2] != ':' {
		return false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return (s[0] < '2' || (s[0] == '2' && s[1] <= '3')) && s[3] <= '5'
}

// checkZone accepts an exact IANA key: one the zone database loads, every path element starting
// with an upper-case letter (so "utc" or "america/new_york", which a case-insensitive file system
// would open but the vault does not know, are refused), and never Go's "Local".
func checkZone(name string, fail func(string) error) error {
	if name == "" {
		return fail("requires an IANA 'timezone' (for example 'America/New_York')")
	}
	exact := !strings.HasPrefix(name, "/") && !strings.HasSuffix(name, "/")
	for _, el := range strings.Split(name, "/") {
		exact = exact && el != "" && el[0] >= 'A' && el[0] <= 'Z'
	}
	if _, err := time.LoadLocation(name); err != nil || name == "Local" {
		return fail("'timezone' " + pyRepr(name) + " is not a known IANA zone")
	}
	if !exact {
		return fail("'timezone' " + pyRepr(name) + " is not a known IANA zone (keys are case-sensitive)")
	}
	return nil
}

// pyRepr quotes s the way the Python messages do ('…').
func pyRepr(s string) string {
	q := strconv.Quote(s)
	return "'" + strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`) + "'"
}
