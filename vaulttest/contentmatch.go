package vaulttest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// contentMatch is a validated content_match rule body.
type contentMatch struct {
	operations []string
	families   []string
	params     []paramCond
	effect     string
	redact     []string
	maxAge     time.Duration
}

type paramCond struct {
	name, op string
	value    any // string, json.Number, []string or timeWindows
}

type timeWindows struct {
	loc     *time.Location
	windows []timeWindow
}

type timeWindow struct {
	days       [7]bool // by time.Weekday
	start, end int     // minutes of the day; end may be 1440; end < start is overnight
}

var (
	cmFamilies = []string{"send", "read", "write", "delete", "admin", "payment"}
	cmOps      = []string{"equals", "any_in", "not_subset_of", "gt", "gte", "lt", "lte", "outside_windows"}
	cmDays     = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	hhmm       = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
)

// parseContentMatch validates a content_match body with the vault's authoring limits (the ones
// alter-sdk's content_match_rule mirrors); it returns why the body is refused, or "".
func parseContentMatch(body map[string]any) (*contentMatch, string) {
	for k := range body {
		if !slices.Contains([]string{"match", "params", "effect", "redact", "step_up"}, k) {
			return nil, "unknown key " + strconv.Quote(k)
		}
	}
	cm := &contentMatch{}
	match, ok := body["match"].(map[string]any)
	if !ok {
		return nil, "'match' must be an object"
	}
	var msg string
	if cm.operations, msg = stringList(match["operations"], 255, "operations"); msg != "" {
		return nil, msg
	}
	if cm.families, msg = stringList(match["families"], 0, "families"); msg != "" {
		return nil, msg
	}
	for _, f := range cm.families {
		if !slices.Contains(cmFamilies, f) {
			return nil, "unknown family " + strconv.Quote(f)
		}
	}
	if n := len(cm.operations) + len(cm.families); n == 0 || n > 100 || len(match) > 2 {
		return nil, "'match' needs 1-100 'operations' / 'families' entries and nothing else"
	}
	if raw, present := body["params"]; present {
		list, ok := raw.([]any)
		if !ok || len(list) > 20 {
			return nil, "'params' must be a list of at most 20 conditions"
		}
		for _, item := range list {
			c, msg := parseCondition(item)
			if msg != "" {
				return nil, msg
			}
			cm.params = append(cm.params, c)
		}
	}
	cm.effect, _ = body["effect"].(string)
	if msg := cm.parseObligations(body); msg != "" {
		return nil, msg
	}
	return cm, ""
}

// parseObligations checks the effect and its obligation: redact iff effect redact, step_up iff
// effect step_up.
func (cm *contentMatch) parseObligations(body map[string]any) string {
	redact, hasRedact := body["redact"].(map[string]any)
	stepUp, hasStepUp := body["step_up"].(map[string]any)
	_, rawRedact := body["redact"]
	_, rawStepUp := body["step_up"]
	switch {
	case cm.effect != "deny" && cm.effect != "redact" && cm.effect != "step_up":
		return "'effect' must be deny, redact or step_up"
	case rawRedact != (cm.effect == "redact") || rawStepUp != (cm.effect == "step_up"):
		return "'redact' goes with effect redact and 'step_up' with effect step_up, and only there"
	case hasRedact:
		var msg string
		if cm.redact, msg = stringList(redact["fields"], 120, "redact.fields"); msg != "" || len(cm.redact) == 0 || len(cm.redact) > 50 || len(redact) != 1 {
			return "'redact' must be {\"fields\": 1-50 names of at most 120 characters}"
		}
	case hasStepUp:
		n, ok := stepUp["max_session_age_seconds"].(json.Number)
		age, err := strconv.ParseInt(string(n), 10, 64)
		if !ok || err != nil || age < 1 || age > 86_400 || len(stepUp) != 1 {
			return "'step_up' must be {\"max_session_age_seconds\": an integer in [1, 86400]}"
		}
		cm.maxAge = time.Duration(age) * time.Second
	case cm.effect != "deny":
		return "the effect's obligation must be an object"
	}
	return ""
}

// stringList reads an optional list of non-empty strings (at most maxLen characters each when
// maxLen > 0).
func stringList(v any, maxLen int, name string) ([]string, string) {
	if v == nil {
		return nil, ""
	}
	list, ok := v.([]any)
	if !ok {
		return nil, "'" + name + "' must be a list of strings"
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok || s == "" || (maxLen > 0 && utf8.RuneCountInString(s) > maxLen) {
			if maxLen > 0 {
				return nil, fmt.Sprintf("'%s' entries must be non-empty strings of at most %d characters", name, maxLen)
			}
			return nil, "'" + name + "' entries must be non-empty strings"
		}
		out = append(out, s)
	}
	return out, ""
}

func parseCondition(item any) (paramCond, string) {
	m, ok := item.(map[string]any)
	name, _ := m["name"].(string)
	op, _ := m["op"].(string)
	if !ok || len(m) != 3 || name == "" || utf8.RuneCountInString(name) > 120 || !slices.Contains(cmOps, op) {
		return paramCond{}, "each 'params' entry must be {name (1-120 characters), op, value}"
	}
	c := paramCond{name: name, op: op}
	v := m["value"]
	switch op {
	case "outside_windows":
		tw, msg := parseWindows(v)
		if msg != "" {
			return paramCond{}, "outside_windows " + msg
		}
		c.value = tw
	case "gt", "gte", "lt", "lte":
		n, ok := v.(json.Number)
		if f, err := n.Float64(); !ok || err != nil || math.IsInf(f, 0) {
			return paramCond{}, op + " requires a finite number"
		}
		c.value = n
	case "equals":
		switch v.(type) {
		case string, json.Number:
			c.value = v
		default:
			return paramCond{}, "equals requires a string or a number"
		}
	default:
		ps, msg := stringList(v, 512, "value")
		if msg != "" || len(ps) == 0 || len(ps) > 200 {
			return paramCond{}, op + " requires 1-200 pattern strings of at most 512 characters"
		}
		c.value = ps
	}
	return c, ""
}

func parseWindows(v any) (timeWindows, string) {
	m, ok := v.(map[string]any)
	tz, _ := m["timezone"].(string)
	list, _ := m["windows"].([]any)
	if !ok || len(m) != 2 || tz == "" || len(list) < 1 || len(list) > 20 {
		return timeWindows{}, "requires {windows: 1-20 windows, timezone}"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return timeWindows{}, "timezone " + strconv.Quote(tz) + " is not a known IANA zone"
	}
	tw := timeWindows{loc: loc}
	for _, item := range list {
		w, ok := item.(map[string]any)
		days, _ := w["days"].([]any)
		start, _ := w["start"].(string)
		end, _ := w["end"].(string)
		if !ok || len(w) != 3 || len(days) == 0 || !hhmm.MatchString(start) || (end != "24:00" && !hhmm.MatchString(end)) || start == end {
			return timeWindows{}, "windows need unique days and 'HH:MM' start/end that differ"
		}
		win := timeWindow{start: minutes(start), end: minutes(end)}
		for _, d := range days {
			ds, _ := d.(string)
			i := slices.Index(cmDays, ds)
			if i < 0 || win.days[i] {
				return timeWindows{}, "window 'days' must be unique tokens from mon..sun"
			}
			win.days[i] = true
		}
		tw.windows = append(tw.windows, win)
	}
	return tw, ""
}

func minutes(hm string) int {
	h, _ := strconv.Atoi(hm[:2])
	m, _ := strconv.Atoi(hm[3:])
	return h*60 + m
}

// apply evaluates the rule on a credential-using call. The emulator's model of the vault's
// attested operations: a call's operation id is "<method>:<URL path>" (lower-case method, the
// form of the provider specs' operation ids) and its family comes from the method and path
// (familyOf); its parameters are the top-level members of a proxied JSON object body and the URL's
// query. A call it cannot classify (no method or URL), or a token call whose rule has parameter
// conditions (the vault never sees that body), is refused while the rule matches.
func (cm *contentMatch) apply(s *Server, in *ruleInput) *apiError {
	u, err := url.Parse(in.url)
	if in.method == "" || in.url == "" || err != nil {
		return errf(http.StatusForbidden, "", "a content rule is loaded and the vault cannot classify this request")
	}
	op := strings.ToLower(in.method) + ":" + u.Path
	if !slices.Contains(cm.operations, op) && !slices.Contains(cm.families, familyOf(in.method, u.Path)) {
		return nil
	}
	if len(cm.params) > 0 {
		if !in.proxy {
			return errf(http.StatusForbidden, "", "the rule's parameter conditions need the request body: use proxy mode")
		}
		params := projectParams(in.body, u.Query())
		for _, c := range cm.params {
			if !c.holds(params[c.name]) {
				return nil
			}
		}
	}
	switch cm.effect {
	case "step_up":
		if age, ok := s.sessionAge(in.userToken); !ok || age > cm.maxAge {
			return errf(http.StatusForbidden, "step_up_required", "this request needs a session younger than %s: sign the user in again", cm.maxAge).
				with("max_session_age_seconds", int(cm.maxAge/time.Second))
		}
		return nil
	case "redact":
		return cm.redactBody(in)
	}
	return errf(http.StatusForbidden, "", "denied by the client's content_match request rule (operation %s)", op)
}

// familyOf is the emulator's operation family: delete for DELETE, read for GET/HEAD/OPTIONS, and
// for the other methods payment, admin or send when a path segment says so
// (payments/charges/invoices, admin, send), else write.
func familyOf(method, path string) string {
	switch strings.ToUpper(method) {
	case http.MethodDelete:
		return "delete"
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "read"
	}
	for seg := range strings.SplitSeq(strings.ToLower(path), "/") {
		switch seg {
		case "payments", "charges", "invoices":
			return "payment"
		case "admin":
			return "admin"
		case "send":
			return "send"
		}
	}
	return "write"
}

// projectParams is the call's parameters: the URL's query, then the top-level members of a JSON
// object body.
func projectParams(body json.RawMessage, q url.Values) map[string]any {
	out := map[string]any{}
	for k, vs := range q {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			out[k] = list
		}
	}
	var obj map[string]any
	if len(body) > 0 && decodeNumbers(body, &obj) == nil {
		for k, v := range obj {
			out[k] = v
		}
	}
	return out
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// holds evaluates one condition on the parameter's value (nil: the call has no such parameter,
// and the condition does not hold, except for a time range, which fails closed).
func (c paramCond) holds(v any) bool {
	switch c.op {
	case "equals":
		if list, ok := v.([]any); ok {
			return len(list) == 1 && scalarEquals(list[0], c.value)
		}
		return v != nil && scalarEquals(v, c.value)
	case "any_in", "not_subset_of":
		members := asMembers(v)
		if members == nil {
			return false
		}
		pats := c.value.([]string)
		some, all := false, true
		for _, m := range members {
			hit := slices.ContainsFunc(pats, func(p string) bool { return globMatch(norm(p), norm(m)) })
			some, all = some || hit, all && hit
		}
		if c.op == "any_in" {
			return some
		}
		return !all
	case "gt", "gte", "lt", "lte":
		n, ok := v.(json.Number)
		x, err := n.Float64()
		want, _ := c.value.(json.Number).Float64()
		if !ok || err != nil {
			return false
		}
		switch c.op {
		case "gt":
			return x > want
		case "gte":
			return x >= want
		case "lt":
			return x < want
		}
		return x <= want
	case "outside_windows":
		return !c.value.(timeWindows).covers(v)
	}
	return false
}

func scalarEquals(v, want any) bool {
	if n, ok := v.(json.Number); ok {
		if w, ok := want.(json.Number); ok {
			a, err1 := n.Float64()
			b, err2 := w.Float64()
			return err1 == nil && err2 == nil && a == b
		}
		return norm(string(n)) == norm(fmt.Sprint(want))
	}
	s, ok := v.(string)
	return ok && norm(s) == norm(fmt.Sprint(want))
}

// asMembers is a parameter as a set of strings (a scalar is a set of one), or nil.
func asMembers(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case json.Number:
		return []string{string(x)}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			switch s := e.(type) {
			case string:
				out = append(out, s)
			case json.Number:
				out = append(out, string(s))
			default:
				return []string{} // a member that is not a scalar matches no pattern
			}
		}
		return out
	}
	return nil
}

// globMatch matches s against a pattern where * is any run and ? any one character.
func globMatch(p, s string) bool {
	px, sx, star, mark := 0, 0, -1, 0
	pr, sr := []rune(p), []rune(s)
	for sx < len(sr) {
		switch {
		case px < len(pr) && (pr[px] == '?' || pr[px] == sr[sx]):
			px, sx = px+1, sx+1
		case px < len(pr) && pr[px] == '*':
			star, mark, px = px, sx, px+1
		case star >= 0:
			mark++
			px, sx = star+1, mark
		default:
			return false
		}
	}
	for px < len(pr) && pr[px] == '*' {
		px++
	}
	return px == len(pr)
}

// maxWindowSpan bounds the time range the emulator judges; a longer one is outside.
const maxWindowSpan = 31 * 24 * time.Hour

// covers reports whether a time-range parameter {"start": RFC 3339, "end": RFC 3339} lies wholly
// inside the windows, back-to-back windows counting as one stretch. A recurring event (a
// "recurrence" member) or a malformed range cannot be judged and is not covered.
func (tw timeWindows) covers(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || m["recurrence"] != nil {
		return false
	}
	ss, _ := m["start"].(string)
	es, _ := m["end"].(string)
	start, err1 := time.Parse(time.RFC3339, ss)
	end, err2 := time.Parse(time.RFC3339, es)
	if err1 != nil || err2 != nil || end.Before(start) || end.Sub(start) > maxWindowSpan {
		return false
	}
	t := start.In(tw.loc)
	for {
		next, ok := tw.stretchEnd(t)
		if !ok {
			return false
		}
		if !next.Before(end) {
			return true
		}
		t = next.In(tw.loc)
	}
}

// stretchEnd returns the end of a window occurrence that contains t (the latest such end), or
// false when no window contains t.
func (tw timeWindows) stretchEnd(t time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	for _, day := range []time.Time{t.AddDate(0, 0, -1), t} {
		y, mo, d := day.Date()
		for _, w := range tw.windows {
			if !w.days[day.Weekday()] {
				continue
			}
			// Local wall-clock times (time.Date normalizes 24:00 and the overnight day).
			from := time.Date(y, mo, d, 0, w.start, 0, 0, tw.loc)
			endMin := w.end
			if w.end < w.start {
				endMin += 24 * 60
			}
			to := time.Date(y, mo, d, 0, endMin, 0, 0, tw.loc)
			if !t.Before(from) && t.Before(to) && to.After(best) {
				best, found = to, true
			}
		}
	}
	return best, found
}

// redactBody removes the rule's fields from a proxied JSON object body; anything else cannot be
// redacted, and the call is refused (the vault never forwards an unredacted body).
func (cm *contentMatch) redactBody(in *ruleInput) *apiError {
	if !in.proxy {
		return errf(http.StatusForbidden, "redact_discharge_failed", "the redact obligation cannot be applied: the vault does not forward a token call's body (use proxy mode)")
	}
	fail := errf(http.StatusForbidden, "redact_discharge_failed", "the redact obligation could not be applied: the request body is not a JSON object")
	var obj map[string]json.RawMessage
	if len(in.body) == 0 || json.Unmarshal(in.body, &obj) != nil || obj == nil {
		return fail
	}
	for _, f := range cm.redact {
		delete(obj, f)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return fail
	}
	in.body = b
	return nil
}
