// "Upload a version" (loaded only on /upload). Makes the calls `arca versions register` makes
// over HTTP, against the same MLflow REST API and artifact proxy: get or create the model,
// create a run, PUT each file into the run's artifacts, finish the run, create the version, then
// open the version's page. XMLHttpRequest rather than fetch for the files, because only it
// reports upload progress.

const form = document.getElementById("upload-form");
const base = form.dataset.base;
const api = `${base}/api/2.0/mlflow`;
const filesInput = document.getElementById("upload-files");
const folderInput = document.getElementById("upload-folder");
const submit = document.getElementById("upload-submit");
const progressBox = document.getElementById("upload-progress-box");
const progress = document.getElementById("upload-progress");
const status = document.getElementById("upload-status");
const errorBox = document.getElementById("upload-error");

document.getElementById("upload-needs-js").hidden = true;
submit.disabled = false;

// A failure to show next to the form: what was being done, and the server's own words.
class UploadError extends Error {}

function fail(step, message) {
  throw new UploadError(`${step}: ${message}`);
}

// The server's message from an MLflow error body, or the HTTP status when there is none.
function messageOf(statusCode, text) {
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === "string" && body.message) return body.message;
  } catch {
    // not JSON: fall through
  }
  if (statusCode === 0) return "the server could not be reached (is it running, and is the network up?)";
  return `the server answered HTTP ${statusCode}`;
}

async function call(step, method, path, body) {
  let response;
  try {
    response = await fetch(`${api}/${path}`, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
  } catch {
    fail(step, messageOf(0, ""));
  }
  const text = await response.text();
  if (!response.ok) {
    const error = new UploadError(`${step}: ${messageOf(response.status, text)}`);
    try {
      error.code = JSON.parse(text).error_code;
    } catch {
      // no error code to keep
    }
    throw error;
  }
  return text ? JSON.parse(text) : {};
}

// Every chosen file with the path it gets below the artifact path: a picked file by its name, a
// file of a picked folder by its path inside that folder.
function chosenFiles() {
  const chosen = [];
  for (const file of filesInput.files) chosen.push({ file, path: file.name });
  for (const file of folderInput.files) {
    const rel = file.webkitRelativePath || file.name;
    const inside = rel.includes("/") ? rel.slice(rel.indexOf("/") + 1) : rel;
    chosen.push({ file, path: inside });
  }
  const seen = new Set();
  for (const { path } of chosen) {
    if (seen.has(path)) fail("Choose the files again", `two of the chosen files would both be stored as '${path}'`);
    seen.add(path);
  }
  return chosen;
}

// The artifact proxy's path of an `mlflow-artifacts:` URI (the run's artifact root).
function proxyPath(uri) {
  if (!uri.startsWith("mlflow-artifacts:")) {
    fail(
      "Upload the files",
      `the run keeps its files at '${uri}', which this server does not store, so the browser cannot upload there`,
    );
  }
  let rest = uri.slice("mlflow-artifacts:".length);
  if (rest.startsWith("//")) rest = rest.slice(rest.indexOf("/", 2));
  return rest.replace(/^\/+|\/+$/g, "");
}

function encodePath(path) {
  return path.split("/").filter((s) => s !== "").map(encodeURIComponent).join("/");
}

function put(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new UploadError(messageOf(xhr.status, xhr.responseText)));
    });
    xhr.addEventListener("error", () => reject(new UploadError(messageOf(0, ""))));
    xhr.addEventListener("abort", () => reject(new UploadError("the upload was stopped")));
    xhr.send(file);
  });
}

function percent(done, total) {
  return total === 0 ? 100 : Math.floor((done * 100) / total);
}

async function upload() {
  const name = document.getElementById("upload-model").value.trim();
  const artifactPath = document.getElementById("upload-path").value.trim().replace(/^\/+|\/+$/g, "");
  const description = document.getElementById("upload-description").value;
  if (!name) fail("Name the model", "type the name of an existing model or of a new one");
  if (!artifactPath) fail("Name the artifact path", "it may not be empty (the usual one is 'model')");
  // The browser would resolve these in the URL before the server sees them.
  if (artifactPath.split("/").some((s) => s === "." || s === "..")) {
    fail("Name the artifact path", "it may not contain '.' or '..' folders: name a folder inside the run, such as 'model'");
  }
  const files = chosenFiles();
  if (files.length === 0) fail("Choose what to upload", "pick one or more files, or a folder");

  progressBox.hidden = false;
  status.textContent = `Preparing model ${name}…`;
  try {
    await call("Look up the model", "GET", `registered-models/get?name=${encodeURIComponent(name)}`);
  } catch (error) {
    if (error.code !== "RESOURCE_DOES_NOT_EXIST") throw error;
    try {
      await call("Create the model", "POST", "registered-models/create", { name });
    } catch (created) {
      // Someone else created it in the meantime: fine.
      if (created.code !== "RESOURCE_ALREADY_EXISTS") throw created;
    }
  }

  const { run } = await call("Create the run", "POST", "runs/create", {
    experiment_id: "0",
    start_time: Date.now(),
    tags: [{ key: "mlflow.source.name", value: "Arca web UI upload" }],
  });
  const runId = run.info.run_id;
  try {
    const root = proxyPath(run.info.artifact_uri);
    const total = files.reduce((sum, f) => sum + f.file.size, 0);
    let done = 0;
    for (const [index, { file, path }] of files.entries()) {
      const label = `${path} (${index + 1} of ${files.length})`;
      const url = `${base}/api/2.0/mlflow-artifacts/artifacts/${encodePath(`${root}/${artifactPath}/${path}`)}`;
      try {
        await put(url, file, (loaded) => {
          const value = percent(done + loaded, total);
          progress.value = value;
          status.textContent = `Uploading ${label}: ${value}%`;
        });
      } catch (error) {
        fail(`Upload ${path}`, error.message);
      }
      done += file.size;
      progress.value = percent(done, total);
    }
    await call("Finish the run", "POST", "runs/update", {
      run_id: runId,
      status: "FINISHED",
      end_time: Date.now(),
    });
  } catch (error) {
    // Leave the run marked as failed rather than running for ever; the first error is the one
    // worth showing.
    call("Mark the run failed", "POST", "runs/update", {
      run_id: runId,
      status: "FAILED",
      end_time: Date.now(),
    }).catch(() => {});
    throw error;
  }

  status.textContent = "Registering the version…";
  const created = await call("Register the version", "POST", "model-versions/create", {
    name,
    source: `runs:/${runId}/${artifactPath}`,
    run_id: runId,
    ...(description.trim() ? { description } : {}),
  });
  const version = created.model_version.version;
  status.textContent = `Registered ${name} version ${version}.`;
  window.location.assign(`${base}/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  errorBox.textContent = "";
  submit.disabled = true;
  try {
    await upload();
  } catch (error) {
    const text = error instanceof UploadError ? error.message : `Something went wrong in the page: ${error}`;
    errorBox.textContent = `${text}. No version was registered.`;
    errorBox.hidden = false;
    status.textContent = "";
    progressBox.hidden = true;
    submit.disabled = false;
  }
});
