// The version page: keeps the confirmations of the stage and alias forms saying exactly what
// will change for what is chosen (app.js asks with the form's data-confirm on submit).

const stageForm = document.getElementById("stage-form");
if (stageForm) {
  const select = stageForm.querySelector("select[name=stage]");
  const archive = stageForm.querySelector("input[name=archive_existing]");
  const update = () => {
    const option = select.selectedOptions[0];
    if (!option) return;
    stageForm.dataset.confirm = archive.checked
      ? option.dataset.confirmArchive
      : option.dataset.confirm;
  };
  select.addEventListener("change", update);
  archive.addEventListener("change", update);
  update();
}

const aliasForm = document.getElementById("alias-form");
if (aliasForm) {
  const input = aliasForm.querySelector("input[name=alias]");
  const { version, model } = aliasForm.dataset;
  const current = new Map(
    (aliasForm.dataset.aliases || "")
      .split(",")
      .filter(Boolean)
      .map((pair) => pair.split("=")),
  );
  const update = () => {
    const alias = input.value.trim().replace(/^@/, "");
    const from = current.get(alias);
    if (!alias) return;
    if (from === version) {
      aliasForm.dataset.confirm = `@${alias} already points at version ${version}; nothing changes.`;
    } else if (from) {
      aliasForm.dataset.confirm = `Moves @${alias} from version ${from} to version ${version} of ${model}.`;
    } else {
      aliasForm.dataset.confirm = `Sets the new alias @${alias} on version ${version} of ${model}.`;
    }
  };
  input.addEventListener("input", update);
}
