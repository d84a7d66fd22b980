package facade

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIdentityProvenance(t *testing.T) {
	id := IdentityContext{AppID: "a", AgentID: "g", AppUserID: "u", UserStatus: UserActive}
	_, err := id.MemoryScope()
	require.ErrorIs(t, err, MemoryIdentityUnverified, "built by hand")
	var mi *MemoryIsolationError
	require.ErrorAs(t, err, &mi)
	require.Equal(t, MemoryIdentityUnverified, mi.Code)
	require.ErrorIs(t, err, ErrMemoryIsolation)
	require.False(t, errors.Is(err, ErrBackend))

	trust(&id, time.Time{})
	sc, err := id.MemoryScope()
	require.NoError(t, err)
	require.Equal(t, "alter:user:u", sc.UserKey)
	edited := id
	edited.AppUserID = "someone-else"
	_, err = edited.MemoryScope()
	require.ErrorIs(t, err, MemoryIdentityUnverified, "an edited copy loses the proof")
	b, err := json.Marshal(id)
	require.NoError(t, err)
	var back IdentityContext
	require.NoError(t, json.Unmarshal(b, &back))
	require.False(t, back.Verified(), "JSON drops the proof")
	_, err = id.AgentMemoryScope()
	require.ErrorIs(t, err, MemoryUserCannotBeDropped)

	suspended := IdentityContext{AppID: "a", AgentID: "g", AppUserID: "u", UserStatus: UserSuspended}
	trust(&suspended, time.Time{})
	_, err = suspended.MemoryScope()
	require.ErrorIs(t, err, MemoryUserNotActive)
	headless := IdentityContext{AppID: "a", AgentID: "g"}
	trust(&headless, time.Time{})
	_, err = headless.MemoryScope()
	require.ErrorIs(t, err, MemoryUserRequired)
	require.Len(t, MemoryIsolationCodes(), 11)
}

func TestIdentityExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		id := IdentityContext{AppID: "a", AgentID: "g"}
		trust(&id, time.Now().Add(10*time.Second))
		_, err := id.AgentMemoryScope()
		require.NoError(t, err)
		time.Sleep(10 * time.Second)
		_, err = id.AgentMemoryScope()
		require.ErrorIs(t, err, MemoryIdentityExpired, "exp is strict")
		require.False(t, id.Verified())
	})
}

func TestNamespaceFor(t *testing.T) {
	sc := MemoryScope{Namespace: []string{"alter", "v2"}}
	ns, err := sc.NamespaceFor("notes", "日本")
	require.NoError(t, err)
	require.Equal(t, []string{"alter", "v2", "bm90ZXM", "5pel5pys"}, ns)
	require.Equal(t, []string{"alter", "v2"}, sc.Namespace, "the base is not changed")
	for _, bad := range [][]string{{""}, {"\xff"}, {strings.Repeat("a", 256)}, make([]string, 17)} {
		_, err := sc.NamespaceFor(bad...)
		require.ErrorIs(t, err, ErrInvalidInput)
	}
	_, err = sc.NamespaceFor(strings.Repeat("a", 255))
	require.NoError(t, err)
}
