package identity

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFacadeLeavesTheJWTLibrariesOut: a program importing only facade compiles neither the JWT
// nor the JWK library (the reason this package is separate).
func TestFacadeLeavesTheJWTLibrariesOut(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/altersdk/alter-go/facade").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := string(out)
	require.Contains(t, deps, "github.com/altersdk/alter-go/internal/idtrust")
	for _, heavy := range []string{"github.com/golang-jwt/jwt", "github.com/MicahParks/jwkset", "golang.org/x/time"} {
		require.False(t, strings.Contains(deps, heavy), "facade depends on %s", heavy)
	}
}
