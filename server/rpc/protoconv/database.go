package protoconv

import (
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/appdb"
)

var engines = map[coderunnerv1.DatabaseEngine]appdb.Engine{
	coderunnerv1.DatabaseEngine_DATABASE_ENGINE_POSTGRES: appdb.EnginePostgres,
	coderunnerv1.DatabaseEngine_DATABASE_ENGINE_REDIS:    appdb.EngineRedis,
}

// EngineFromProto is the engine e names; "" for unspecified.
func EngineFromProto(e coderunnerv1.DatabaseEngine) appdb.Engine { return engines[e] }

// EngineToProto is the enum value of engine e.
func EngineToProto(e appdb.Engine) coderunnerv1.DatabaseEngine {
	for k, v := range engines {
		if v == e {
			return k
		}
	}
	return coderunnerv1.DatabaseEngine_DATABASE_ENGINE_UNSPECIFIED
}
