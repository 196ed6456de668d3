-- wrk script for the registry benchmarks. Arguments after `--`, as key=value:
--   op=get_version | get_alias | latest | create_version | transition | set_alias | set_tag |
--      create_model | path
--   models=N versions=N   the seeded layout: models <prefix>0001..N, versions 1..N each
--   prefix=bench-m-       model name prefix;  write_model=NAME  target of create_version
--   path=/api/...         for op=path: one fixed, already encoded request path (default: the
--                         path of the URL given to wrk)
--   run=TAG               makes create_model names unique across runs
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
