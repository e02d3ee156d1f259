"""Realistic container log text."""
import datetime as dt

from klib import ago_secs, sha


def ts(c, ago, ms_seed="", fmt="iso"):
    t = c.now - dt.timedelta(seconds=ago_secs(ago))
    if t.microsecond == 0:
        t = t + dt.timedelta(milliseconds=int.from_bytes(sha(f"ms{ms_seed}{ago}")[:2], "big") % 97)
    ms = t.microsecond // 1000
    if fmt == "iso":
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms:03d}Z"
    if fmt == "go":
        return t.strftime("%Y/%m/%d %H:%M:%S")
    if fmt == "py":
        return t.strftime("%Y-%m-%d %H:%M:%S,") + f"{ms:03d}"
    if fmt == "rfc":
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "pg":
        return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms:03d} UTC"
    raise ValueError(fmt)


SPRING_BANNER = r"""
  .   ____          _            __ _ _
 /\\ / ___'_ __ _ _(_)_ __  __ _ \ \ \ \
( ( )\___ | '_ | '_| | '_ \/ _` | \ \ \ \
 \\/  ___)| |_)| | | | | || (_| |  ) ) ) )
  '  |____| .__|_| |_|_| |_\__, | / / / /
 =========|_|==============|___/=/_/_/_/

 :: Spring Boot ::                (v3.3.5)
"""


def spring_line(c, ago, level, app, thread, logger, msg):
    return f"{ts(c, ago, logger + msg)} {level:>5} 1 --- [{app}] [{thread:>15}] {logger:<40} : {msg}"


def spring_startup(c, start, app, cls, version, pkg="c.e.payments", port=8080, db=True):
    s = ago_secs(start)
    L = lambda a, lvl, th, lg, m: spring_line(c, a, lvl, app, th, lg, m)
    lines = ["Picked up JAVA_TOOL_OPTIONS: -XX:MaxRAMPercentage=75.0 -XX:+UseG1GC", "", SPRING_BANNER.strip("\n"), ""]
    lines += [
        L(s - 1.2, "INFO", "main", f"{pkg}.{cls}", f"Starting {cls} v{version} using Java 17.0.13 with PID 1 (/app/app.jar started by app in /app)"),
        L(s - 1.2, "INFO", "main", f"{pkg}.{cls}", 'The following 1 profile is active: "prod"'),
        L(s - 3.4, "INFO", "main", ".s.d.r.c.RepositoryConfigurationDelegate", "Bootstrapping Spring Data JPA repositories in DEFAULT mode."),
        L(s - 3.9, "INFO", "main", ".s.d.r.c.RepositoryConfigurationDelegate", "Finished Spring Data repository scanning in 412 ms. Found 7 JPA repository interfaces."),
        L(s - 5.1, "INFO", "main", "o.s.b.w.embedded.tomcat.TomcatWebServer", f"Tomcat initialized with port {port} (http)"),
        L(s - 5.2, "INFO", "main", "o.apache.catalina.core.StandardService", "Starting service [Tomcat]"),
        L(s - 5.2, "INFO", "main", "o.apache.catalina.core.StandardEngine", "Starting Servlet engine: [Apache Tomcat/10.1.31]"),
    ]
    if db:
        lines += [
            L(s - 6.0, "INFO", "main", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Starting..."),
            L(s - 6.4, "INFO", "main", "com.zaxxer.hikari.pool.HikariPool", "HikariPool-1 - Added connection org.postgresql.jdbc.PgConnection@5b1f29fa"),
            L(s - 6.4, "INFO", "main", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed."),
            L(s - 7.8, "INFO", "main", "o.hibernate.jpa.internal.util.LogHelper", "HHH000204: Processing PersistenceUnitInfo [name: default]"),
            L(s - 8.1, "INFO", "main", "org.hibernate.Version", "HHH000412: Hibernate ORM core version 6.5.3.Final"),
        ]
    lines += [
        L(s - 10.3, "INFO", "main", "o.s.b.a.e.web.EndpointLinksResolver", "Exposing 3 endpoints beneath base path '/actuator'"),
        L(s - 10.6, "INFO", "main", "o.s.b.w.embedded.tomcat.TomcatWebServer", f"Tomcat started on port {port} (http) with context path '/'"),
        L(s - 10.7, "INFO", "main", f"{pkg}.{cls}", f"Started {cls} in 10.214 seconds (process running for 10.981)"),
    ]
    return lines


def go_ts(c, ago):
    return ts(c, ago, fmt="go")


def json_line(c, ago, level, msg, **kw):
    import json
    d = {"time": ts(c, ago, msg), "level": level.upper(), "msg": msg}
    d.update(kw)
    return json.dumps(d, separators=(",", ":"))


GO_NIL_PANIC = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x38 pc=0x1a4f2c3]

goroutine 1 [running]:
github.com/acme/orders-api/internal/pricing.(*Client).DiscountFor(0x0, {0x2b1e4c0, 0xc0003a2e10}, {0xc00041e0c0, 0x24})
	/src/internal/pricing/client.go:87 +0x23
github.com/acme/orders-api/internal/orders.NewService({0x2b1e4c0, 0xc0003a2e10}, 0xc0001c4000, 0x0)
	/src/internal/orders/service.go:64 +0x1f9
main.run({0x2b1e4c0, 0xc0003a2e10})
	/src/cmd/orders-api/main.go:112 +0x6b4
main.main()
	/src/cmd/orders-api/main.go:41 +0x85"""
