package alterotel_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// deps lists the packages pkg compiles (go list -deps, in this module).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.Fields(string(out))
}

// A program importing only facade compiles the OpenTelemetry API (traceparent) but none of the
// SDK this module brings; this package does compile it.
func TestFacadeLeavesTheOTelSDKOut(t *testing.T) {
	const sdk = "go.opentelemetry.io/otel/sdk"
	require.Contains(t, deps(t, "github.com/altersdk/alter-go/alterotel"), sdk+"/trace")
	facade := deps(t, "github.com/altersdk/alter-go/facade")
	require.Contains(t, facade, "go.opentelemetry.io/otel/trace")
	for _, p := range facade {
		require.False(t, p == sdk || strings.HasPrefix(p, sdk+"/"), "facade compiles %s", p)
	}
}
