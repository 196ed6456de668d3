-- wrk script for the registry benchmarks. Arguments after `--`, as key=value:
--   op=get_version | get_alias | latest | get_model | create_version | transition | set_alias |
--      set_tag | create_model | search_versions | search_models | path
--      tracking (bench/compare.sh): create_run | log_metrics | log_params | search_runs |
--      search_experiments
--   models=N versions=N   the seeded layout: models <prefix>0001..N, versions 1..N each
--   prefix=bench-m-       model name prefix;  write_model=NAME  target of create_version
--   path=/api/...         for op=path: one fixed, already encoded request path (default: the
--                         path of the URL given to wrk)
--   run=TAG               makes create_model names and log_params keys unique across runs
--   experiment=ID         create_run: the experiment new runs go to
--   search_experiment=ID  search_runs: the experiment searched (max_results=page)
--   runs=FILE             log_metrics, log_params: run ids, one a line; each request picks one
--   batch=N               log_metrics, log_params: metrics or params per log-batch request
--   page=N                max_results of search_runs and search_experiments (default 100)
-- Environment: WRK_ADDRS=HOST:PORT,... sends wrk thread i to address i (round robin): with -t2
-- and two replicas, each wrk thread (and its half of the connections) drives one of them.
-- Each request picks its model and version at random, so the server cannot answer from one
-- cached row. done() prints one machine-readable RESULT line for bench/lib/run_wrk.py.

local API = "/api/2.0/mlflow/"
local JSON = { ["Content-Type"] = "application/json" }
-- BENCH_AUTH_HEADER: an Authorization value sent with every request (a server with --auth).
local AUTH = os.getenv("BENCH_AUTH_HEADER")
local GET = {}
if AUTH and AUTH ~= "" then
    JSON["Authorization"] = AUTH
    GET["Authorization"] = AUTH
end
local STAGES = { "Staging", "Production", "None", "Archived" }

local threads = {}
local counter = 0

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
    -- setup() does not see the arguments after `--`, so the addresses come from the environment
    local list = os.getenv("WRK_ADDRS")
    if list and list ~= "" then
        local hosts = {}
        for hp in list:gmatch("[^,]+") do
            table.insert(hosts, hp)
        end
        local host, port = hosts[(#threads - 1) % #hosts + 1]:match("^(.*):(%d+)$")
        thread.addr = wrk.lookup(host, port)[1]
    end
end

local function parse(args)
    local o = {}
    for _, a in ipairs(args) do
        local k, v = a:match("^([^=]+)=(.*)$")
        if k then
            o[k] = v
        end
    end
    return o
end

function init(args)
    opts = parse(args)
    op = opts.op
    models = tonumber(opts.models or "1")
    versions = tonumber(opts.versions or "1")
    prefix = opts.prefix or "bench-m-"
    run = opts.run or tostring(os.time())
    math.randomseed(os.time() * 1000 + (tid or 0))
    if opts.path then
        wrk.path = opts.path
    end
    batch = tonumber(opts.batch or "10")
    page = tonumber(opts.page or "100")
    run_ids = {}
    if opts.runs then
        for line in io.lines(opts.runs) do
            if line ~= "" then
                table.insert(run_ids, line)
            end
        end
    end
end

local function model()
    return string.format("%s%04d", prefix, math.random(models))
end

local function version()
    return tostring(math.random(versions))
end

function request()
    if op == "get_version" then
        return wrk.format("GET", API .. "model-versions/get?name=" .. model() .. "&version=" .. version(), GET)
    elseif op == "get_alias" then
        return wrk.format("GET", API .. "registered-models/alias?name=" .. model() .. "&alias=champion", GET)
    elseif op == "latest" then
        return wrk.format("GET", API .. "registered-models/get-latest-versions?name=" .. model(), GET)
    elseif op == "get_model" then
        return wrk.format("GET", API .. "registered-models/get?name=" .. model(), GET)
    elseif op == "create_version" then
        counter = counter + 1
        local body = string.format('{"name":"%s","source":"s3://bench/writes/%s-%d-%d"}',
            opts.write_model, run, tid or 0, counter)
        return wrk.format("POST", API .. "model-versions/create", JSON, body)
    elseif op == "transition" then
        local body = string.format(
            '{"name":"%s","version":"%s","stage":"%s","archive_existing_versions":false}',
            model(), version(), STAGES[math.random(#STAGES)])
        return wrk.format("POST", API .. "model-versions/transition-stage", JSON, body)
    elseif op == "set_alias" then
        local body = string.format('{"name":"%s","alias":"a%d","version":"%s"}',
            model(), math.random(5), version())
        return wrk.format("POST", API .. "registered-models/alias", JSON, body)
    elseif op == "set_tag" then
        local body = string.format('{"name":"%s","version":"%s","key":"t%d","value":"v%d"}',
            model(), version(), math.random(5), math.random(1000))
        return wrk.format("POST", API .. "model-versions/set-tag", JSON, body)
    elseif op == "search_versions" then
        return wrk.format("GET", API .. "model-versions/search?filter=name%3D%27" .. model() ..
            "%27&max_results=100")
    elseif op == "search_models" then
        -- bench-m-00d%: about 10 models a page (d picked at random)
        return wrk.format("GET", API .. "registered-models/search?filter=name%20LIKE%20%27" ..
            prefix .. "00" .. tostring(math.random(0, 9)) .. "%25%27&max_results=100")
    elseif op == "create_run" then
        local body = string.format('{"experiment_id":"%s","start_time":%d}',
            opts.experiment, os.time() * 1000)
        return wrk.format("POST", API .. "runs/create", JSON, body)
    elseif op == "log_metrics" then
        counter = counter + 1
        local now = os.time() * 1000
        local parts = {}
        for i = 1, batch do
            parts[i] = string.format('{"key":"m%d","value":%.6f,"timestamp":%d,"step":%d}',
                i, math.random(), now, counter)
        end
        local body = '{"run_id":"' .. run_ids[math.random(#run_ids)] .. '","metrics":[' ..
            table.concat(parts, ",") .. "]}"
        return wrk.format("POST", API .. "runs/log-batch", JSON, body)
    elseif op == "log_params" then
        -- params are immutable: every request logs keys no request used before
        counter = counter + 1
        local parts = {}
        for i = 1, batch do
            parts[i] = string.format('{"key":"p-%s-%d-%d-%d","value":"v%d"}',
                run, tid or 0, counter, i, i)
        end
        local body = '{"run_id":"' .. run_ids[math.random(#run_ids)] .. '","params":[' ..
            table.concat(parts, ",") .. "]}"
        return wrk.format("POST", API .. "runs/log-batch", JSON, body)
    elseif op == "search_runs" then
        local body = string.format('{"experiment_ids":["%s"],"max_results":%d}',
            opts.search_experiment, page)
        return wrk.format("POST", API .. "runs/search", JSON, body)
    elseif op == "search_experiments" then
        return wrk.format("POST", API .. "experiments/search", JSON,
            string.format('{"max_results":%d}', page))
    elseif op == "create_model" then
        counter = counter + 1
        local body = string.format('{"name":"bench-new-%s-%d-%d"}', run, tid or 0, counter)
        return wrk.format("POST", API .. "registered-models/create", JSON, body)
    else
        return wrk.format("GET", wrk.path, GET)
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
        "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
