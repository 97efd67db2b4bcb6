package api

import (
	"krest/internal/naming"
	"net/url"
	"strings"
	"testing"
)

// FuzzRouter feeds arbitrary request paths to the route table's router
// and to parsePath. Invariants: neither panics; a matched path has one
// value per wildcard of its route, none empty, and writing the values
// back into the route's pattern (escaped per segment) matches the same
// route with the same values; parsePath either refuses the values with a
// 400 or gives a topic and cluster id of Kafka's legal names and
// non-negative ids.
func FuzzRouter(f *testing.F) {
	for _, seed := range []string{"/", "/api/messages", "/topics/a%2Fb", "/v3/clusters/x/topics/t/partitions/+1",
		"/v3/clusters/x/brokers/-/configs", "/v3/clusters/x/topics/t/records:batch", "//", "/topics/", "/topics/%zz",
		"/v3/clusters/k/consumer-groups/g%20h/lags/t/partitions/0", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q"} {
		f.Add(seed)
	}
	var r router
	for _, rt := range routes(Options{APIV2: true, APIV3: true, Topic: "messages"}, &handlers{}) {
		r.add(rt)
	}
	f.Fuzz(func(t *testing.T, path string) {
		var values [maxSegments]string
		found := r.match([]byte(path), &values)
		if len(found) == 0 {
			return
		}
		rt := found[0]
		n := len(rt.params)
		segs := splitPattern(rt.pattern)
		k := 0
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				if values[k] == "" {
					t.Fatalf("%q: empty value of %s", path, seg)
				}
				segs[i] = url.PathEscape(values[k])
				k++
			}
		}
		if k != n {
			t.Fatalf("%q: %d values for %d wildcards", path, k, n)
		}
		var again [maxSegments]string
		back := r.match([]byte("/"+strings.Join(segs, "/")), &again)
		if len(back) == 0 || back[0] != rt || again != values {
			t.Fatalf("%q: the values written back do not match %s again", path, rt.label)
		}
		c := &call{route: rt, values: values}
		args, err := parsePath(c)
		if err != nil {
			if ae := errorFor(err); ae.Status != 400 {
				t.Fatalf("%q: parsePath failed with %d", path, ae.Status)
			}
			return
		}
		for _, name := range []string{args.topic, args.cluster} {
			if name != "" && naming.Topic(name) != nil {
				t.Fatalf("%q: parsePath let %q through", path, name)
			}
		}
		if args.partition < 0 || args.broker < 0 {
			t.Fatalf("%q: negative ids %d, %d", path, args.partition, args.broker)
		}
	})
}
