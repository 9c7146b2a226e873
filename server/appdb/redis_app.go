package appdb

import (
	"fmt"
	"net/url"
	"strconv"
)

// redisPort is where an app reaches its Redis database.
const redisPort = 6379

// App is how an app reaches its Redis database: 127.0.0.1:6379,
// REDIS_URL with its login, and REDIS_PREFIX, the only keys it may use.
// Redis has no per-user connection limit, so the forwarders keep it.
func (r *Redis) App() AppView {
	return AppView{Port: redisPort, Variables: redisVariables, URLVariable: "REDIS_URL", ShownURL: redisShownURL, CapInForwarder: true}
}

func redisVariables(name, login, password string) (env, secrets map[string]string) {
	env = map[string]string{"REDIS_PREFIX": prefix(name)}
	u := url.URL{Scheme: "redis", User: url.UserPassword(login, password), Host: forwardHost + ":" + strconv.Itoa(redisPort), Path: "/0"}
	secrets = map[string]string{"REDIS_URL": u.String()}
	return env, secrets
}

func redisShownURL(_, login string) string {
	return fmt.Sprintf("redis://%s:[redacted]@%s:%d/0", login, forwardHost, redisPort)
}
