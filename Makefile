# Two entry points: `make serve` and `make test`. Each installs what it needs.
.PHONY: serve test build lint unit bench clean

NODE_MODULES := node_modules/.package-lock.json

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: $(NODE_MODULES)
	./node_modules/.bin/tsc -p tsconfig.json
	./node_modules/.bin/esbuild client/index.ts --bundle --format=esm --platform=browser --target=es2022 \
		--sourcemap --log-level=warning --outfile=dist/web/switchboard.js

serve: build
	node dist/src/cli.js serve $(ARGS)

lint: $(NODE_MODULES)
	./node_modules/.bin/biome check .

test: lint build
	./node_modules/.bin/vitest run $(ARGS)

bench: build
	npm run bench

clean:
	rm -rf dist
