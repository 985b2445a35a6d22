package releasecheck

// The tests use the real group table; outside a binary (which links it
// through features) the descriptions come in here.
import _ "github.com/advanced-backend/advanced-backend/features/groupdesc"
