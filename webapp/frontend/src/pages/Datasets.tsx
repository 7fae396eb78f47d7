// Datasets: upload, list, preview the first rows, download, delete.

import { useState } from "preact/hooks";
import { api, ApiError, getAll } from "../api";
import { Card, ErrorBox, FieldErrors, Loading } from "../components/bits";
import { formatBytes, formatTime } from "../format";
import { useLoad } from "../hooks";
import type { Dataset } from "../types";

interface Preview {
  columns: string[];
  rows: string[][];
}

function UploadForm({ onUploaded }: { onUploaded: (dataset: Dataset) => void }) {
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    const truth = form.get("truth");
    if (truth instanceof File && truth.size === 0) form.delete("truth");
    setBusy(true);
    setErrors({});
    try {
      onUploaded(await api<Dataset>("/api/datasets/", { form }));
      formElement.reset();
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fields : { detail: String(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="row upload-form" onSubmit={submit}>
      <label>
        CSV file (header row first)
        <input type="file" name="file" accept=".csv,text/csv" required />
        <FieldErrors errors={errors.file} />
      </label>
      <label>
        <span>
          Name <span class="muted">(optional)</span>
        </span>
        <input name="name" placeholder="defaults to the file name" />
        <FieldErrors errors={errors.name} />
      </label>
      <label>
        <span>
          True graph <span class="muted">(optional graph.json)</span>
        </span>
        <input type="file" name="truth" accept=".json,application/json" />
        <FieldErrors errors={errors.truth} />
      </label>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Uploading…" : "Upload"}
      </button>
      <FieldErrors errors={{ detail: errors.detail }} />
    </form>
  );
}

export function DatasetsPage() {
  const { data, error, reload } = useLoad((signal) => getAll<Dataset>("/api/datasets/?page_size=1000", signal), []);
  const [preview, setPreview] = useState<{ dataset: Dataset; data: Preview } | null>(null);
  const [notice, setNotice] = useState("");
  const [actionError, setActionError] = useState("");
  const [confirmDelete, setConfirmDelete] = useState<number | null>(null);

  const open = async (dataset: Dataset) => {
    setActionError("");
    try {
      setPreview({ dataset, data: await api<Preview>(`/api/datasets/${dataset.id}/preview/?rows=20`) });
    } catch (failure) {
      setActionError(String((failure as Error).message));
    }
  };

  const remove = async (dataset: Dataset) => {
    setConfirmDelete(null);
    setActionError("");
    try {
      await api(`/api/datasets/${dataset.id}/`, { method: "DELETE" });
      if (preview?.dataset.id === dataset.id) setPreview(null);
      reload();
    } catch (failure) {
      setActionError(`${dataset.name}: ${(failure as Error).message}`);
    }
  };

  return (
    <>
      <div class="page-head">
        <h1>Datasets</h1>
      </div>
      <Card title="Upload a dataset">
        <UploadForm
          onUploaded={(dataset) => {
            const known = data?.some((d) => d.id === dataset.id);
            setNotice(known ? `${dataset.name} was already uploaded (same bytes).` : `Uploaded ${dataset.name}.`);
            reload();
            void open(dataset);
          }}
        />
        {notice && <p class="notice">{notice}</p>}
      </Card>
      <ErrorBox error={error || actionError} />
      {!data ? (
        <Loading />
      ) : data.length === 0 ? (
        <p class="muted">No datasets yet.</p>
      ) : (
        <div class="card flush">
          <table class="table" id="datasets">
            <thead>
              <tr>
                <th>Name</th>
                <th>Rows</th>
                <th>Columns</th>
                <th>Size</th>
                <th>Truth</th>
                <th>Uploaded</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.map((d) => (
                <tr data-dataset={d.id} class={preview?.dataset.id === d.id ? "selected" : ""}>
                  <td>{d.name}</td>
                  <td class="num">{d.rows}</td>
                  <td title={d.columns.join(", ")}>{d.columns.length <= 6 ? d.columns.join(", ") : `${d.columns.slice(0, 6).join(", ")} … (${d.columns.length})`}</td>
                  <td class="num">{formatBytes(d.size)}</td>
                  <td>{d.has_truth ? "✓" : ""}</td>
                  <td>{formatTime(d.created_at)}</td>
                  <td class="row-actions">
                    <button class="small" onClick={() => open(d)}>
                      Preview
                    </button>
                    <a class="button small" href={d.download_url} download>
                      Download
                    </a>
                    {confirmDelete === d.id ? (
                      <>
                        <button class="small danger" onClick={() => remove(d)}>
                          Delete it
                        </button>
                        <button class="small" onClick={() => setConfirmDelete(null)}>
                          Keep
                        </button>
                      </>
                    ) : (
                      <button class="small" onClick={() => setConfirmDelete(d.id)}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {preview && (
        <Card title={`${preview.dataset.name}: first ${preview.data.rows.length} of ${preview.dataset.rows} rows`} actions={<button class="small" onClick={() => setPreview(null)}>Close</button>}>
          <div class="table-scroll">
            <table class="table preview" id="preview">
              <thead>
                <tr>
                  {preview.data.columns.map((column) => (
                    <th>{column}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.data.rows.map((row) => (
                  <tr>
                    {row.map((value) => (
                      <td class="num">{value}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </>
  );
}
