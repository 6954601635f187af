# The two commands of the README: `make run` and `make test`.
MVN ?= mvn
MVN_FLAGS ?= -B
RUN_CP := deploy/local/target/runtime-classpath.txt
# The commit --version prints (none outside a git checkout).
BUILD_INFO := -Dtallyhouse.commit=$(shell git rev-parse --short=12 HEAD 2>/dev/null)
SOURCES := $(shell find schemas common testkit gateway-ingest usage-stream activity-query tools deploy/local deploy/dist bench \
             -path '*/target' -prune -o -type f \( -name '*.java' -o -name '*.avsc' -o -name '*.sql' -o -name '*.txt' -o -name '*.xml' -o -name '*.yaml' -o -name '*.sh' \) -print 2>/dev/null) pom.xml

.PHONY: run reset test test-cluster check format config-reference build deps clean keys reconcile migrate bench-ingest bench-stream bench-stream-cluster bench-query bench-clickhouse-batches images test-images

## make run: the whole pipeline locally (Kafka, registry, ClickHouse, the three services) until Ctrl-C, on the
##           data of the last run (.run/data, kept across runs). DEMO=1 also loads 30 days of generated traffic.
run: deps $(RUN_CP)
	@$(if $(DEMO),DEMO=$(DEMO) )java -XX:+UseSerialGC -Xss1m -cp "$$(cat $(RUN_CP)):deploy/local/target/classes" io.tallyhouse.local.LocalStack

## make test: every test: the unit tests (surefire), then the *IntegrationTest classes on the real servers
##           (failsafe), the end-to-end tests and the formatter check.
test: deps
	$(MVN) $(MVN_FLAGS) $(BUILD_INFO) verify

## make test-cluster: the failure test on local clusters (3 Kafka nodes, 2x2 ClickHouse, 3 usage-stream, 2 gateway-ingest
##           and 2 activity-query instances, servers and instances SIGKILLed under traffic); too long for make test.
test-cluster: deps
	$(MVN) $(MVN_FLAGS) -pl deploy/local -am verify -Dit.test=ClusterFailureIntegrationTest -Dtest=none \
	  -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false

## make check: the fast lane, no server: compile, unit tests and the formatter check.
check:
	$(MVN) $(MVN_FLAGS) -q test spotless:check

## make config-reference: writes docs/CONFIGURATION.md (every variable, default and meaning) from the code.
config-reference: $(RUN_CP)
	@java -cp "$$(cat $(RUN_CP)):deploy/local/target/classes" io.tallyhouse.local.ConfigurationReferenceFile .

## make format: formats the Java sources (google-java-format, the layout make check and make test require).
format:
	$(MVN) $(MVN_FLAGS) -q spotless:apply

## make bench-ingest: Kafka's ProducerPerformance, then POST /v1/events (arrays of 100, single events); last line JSON.
BENCH_CP := bench/target/runtime-classpath.txt
bench-ingest: $(RUN_CP)
	@java -Xmx2g -cp "$$(cat $(BENCH_CP)):bench/target/classes" io.tallyhouse.bench.IngestBench

## make bench-stream: events/s through dedup, rollup and the ClickHouse writer, freshness, ClickHouse raw insert.
bench-stream: deps $(RUN_CP)
	@java -Xmx3g -cp "$$(cat $(BENCH_CP)):bench/target/classes" io.tallyhouse.bench.StreamBench

## make bench-stream-cluster: the stream on a 3-node secured Kafka cluster (12 partitions) with 1, 2 and 3
##           instances: events/s and CPU per event of the streams, brokers and ClickHouse; last line JSON.
bench-stream-cluster: deps $(RUN_CP)
	@java -Xmx2g -cp "$$(cat $(BENCH_CP)):bench/target/classes" io.tallyhouse.bench.StreamClusterBench

## make bench-clickhouse-batches: ClickHouse's CPU per event (inserts and the merges after them) for the writer's
##           rows at 5 000, 20 000 and 50 000 rows per insert, on 1 M events; last line JSON.
bench-clickhouse-batches: deps $(RUN_CP)
	@java -Xmx2g -cp "$$(cat $(BENCH_CP)):bench/target/classes" io.tallyhouse.bench.ClickHouseBatchBench

## make bench-query: GET /api/v1/activity on 10M events, 50 clients, against the same SQL sent to ClickHouse directly.
bench-query: deps $(RUN_CP)
	@java -Xmx2g -cp "$$(cat $(BENCH_CP)):bench/target/classes" io.tallyhouse.bench.QueryBench

# The command-line tools (module tools, one entry point): each command's --help lists its options and exit codes.
TOOLS = java -cp "$$(cat $(RUN_CP))" io.tallyhouse.tools.TallyhouseCli

## make keys ARGS="create --kind management --account demo": the key tool on the local stack's key file.
KEYS_FILE ?= .run/keys.jsonl
keys: $(RUN_CP)
	@$(TOOLS) keys $(ARGS) --file $(KEYS_FILE)

## make reconcile ARGS="--from 2026-11-01 --to 2026-11-30": usage_daily against usage_events per account and day,
##           on the ClickHouse of CLICKHOUSE_URL/_DATABASE (default: the local stack's); fails (code 1) on a difference.
reconcile: $(RUN_CP)
	@$(TOOLS) reconcile $(ARGS)

## make migrate ARGS="--dry-run": brings the ClickHouse database of CLICKHOUSE_URL/_DATABASE (default: the local
##           stack's) to this build's schema; the services refuse to start on one behind it. ARGS="--cluster NAME"
##           creates the tables across the ClickHouse cluster NAME (Replicated*MergeTree, Distributed by account).
migrate: $(RUN_CP)
	@$(TOOLS) migrate $(ARGS)

## make images: one container image per service (deploy/images/Dockerfile over the tarballs of deploy/dist) with
##           docker or podman, whichever answers; without a container engine it says so and exits 0.
images: $(RUN_CP)
	@bash deploy/images/build-images.sh

## make test-images: installs podman (Debian's), makes a JRE base image from Debian's packages (cached in
##           ~/.cache/tallyhouse), builds the three images and runs gateway-ingest's (--version, non-root user).
test-images: $(RUN_CP)
	@bash scripts/ensure-podman.sh
	@bash deploy/images/test-images.sh

## Builds what is missing or changed (skipping tests), and the runtime classpath of the local stack.
build: $(RUN_CP)

$(RUN_CP): $(SOURCES)
	$(MVN) $(MVN_FLAGS) $(BUILD_INFO) -q -Dmaven.test.skip=true package
	@touch $(RUN_CP)

deps:
	@bash scripts/ensure-clickhouse.sh
	@bash scripts/ensure-kubectl.sh
	@bash scripts/ensure-prometheus.sh
	@bash scripts/ensure-node-clients.sh

## make reset: empties the local stack's data (topics, schemas, tables, stream state); keeps the key file and the build.
reset:
	rm -rf "$${TALLYHOUSE_HOME:-.run}/data"

## make clean: starts afresh: removes the build, the Node.js clients' node_modules and all of .run/ (the local
##           stack's data and its key file).
clean:
	$(MVN) $(MVN_FLAGS) -q clean
	rm -rf .run clients/node_modules
