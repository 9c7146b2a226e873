package orchestrator

import "hash/fnv"

// Each owner's sandboxes (builds and replicas) run as a host uid of their
// own, derived from the owner's id: mount namespaces already keep one
// user's files out of another's sandboxes, and distinct uids mean that
// even a file that did become reachable (a host path mounted by mistake,
// a kernel bug) would not be the other user's to read or write. The range
// sits well above the uids distributions give to people (1000+) and to
// rootless containers (/etc/subuid, from 100000 in 65536-uid blocks).
//
// Two owners can hash to one uid; with n owners the chance that any two do
// is about n²/2³¹ (under 0.05 % for a thousand). They then share a uid, as
// every sandbox did before uids were per owner.
const (
	firstOwnerUID = 1 << 30
	ownerUIDs     = 1 << 30
)

// sandboxUID returns the host uid and gid owner's sandboxes run as.
func sandboxUID(owner string) int {
	h := fnv.New32a()
	h.Write([]byte(owner))
	return firstOwnerUID + int(h.Sum32()%ownerUIDs)
}
