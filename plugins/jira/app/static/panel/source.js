// tierdesk Jira issue panel: where the panel's data comes from, in one place.
//
// In Jira the panel runs as a Forge Custom UI resource and reads the issue's `tierdesk` entity
// property (written by tierdesk's worker) with requestJira, as the viewing user. Previews and tests
// inject the same data instead, through `globalThis.__TIERDESK_PANEL__`.

const PROPERTY = "tierdesk";

/**
 * The panel data: `{ issueKey, property, locale, timeZone }`, where `property` is the JSON tierdesk
 * wrote (null when tierdesk has not written it for this issue yet).
 *
 * `env.__TIERDESK_PANEL__`, when set, is used as is (or called, when it is a function). Otherwise the
 * issue comes from the Forge context and the property from
 * `GET /rest/api/3/issue/{key}/properties/tierdesk`.
 */
export async function loadPanelData(env = globalThis) {
  const injected = env.__TIERDESK_PANEL__;
  if (injected !== undefined) return typeof injected === "function" ? injected() : injected;

  const forge = await forgeBridge(env);
  const context = (await forge.getContext()) ?? {};
  const issueKey = context.extension?.issue?.key ?? context.extension?.issue?.id;
  if (!issueKey) throw new Error("This panel shows on a Jira issue; no issue in the Forge context.");
  const response = await forge.requestJira(
    `/rest/api/3/issue/${encodeURIComponent(issueKey)}/properties/${PROPERTY}`,
    { headers: { Accept: "application/json" } },
  );
  const base = { issueKey: String(issueKey), locale: context.locale ?? "", timeZone: context.timezone ?? "" };
  if (response.status === 404) return { ...base, property: null };
  if (!response.ok) throw new Error(`Jira answered ${response.status} reading the ${PROPERTY} property.`);
  const body = await response.json();
  return { ...base, property: body?.value ?? null };
}

/**
 * `view.getContext` and `requestJira` of `@forge/bridge` when the resource is deployed with it (an
 * import map or a bundler resolving the name); otherwise the same two calls made directly on the
 * host bridge Forge injects into Custom UI frames (`window.__bridge.callBridge`), which is what
 * `@forge/bridge` itself does, so the resource deploys as plain files.
 */
async function forgeBridge(env) {
  try {
    const bridge = await import("@forge/bridge");
    return { getContext: () => bridge.view.getContext(), requestJira: bridge.requestJira };
  } catch {
    // not resolvable: use the host bridge below
  }
  const host = env.__bridge;
  if (!host || typeof host.callBridge !== "function") {
    throw new Error("Not running inside Jira: no Forge bridge in this page.");
  }
  return {
    getContext: () => host.callBridge("getContext"),
    requestJira: async (restPath, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has("X-Atlassian-Token")) headers.set("X-Atlassian-Token", "no-check");
      const answer = await host.callBridge("fetchProduct", {
        product: "jira",
        restPath,
        fetchRequestInit: { ...init, headers: [...headers.entries()] },
      });
      const { body, headers: answerHeaders, status, statusText } = answer ?? {};
      return new Response(body || null, { headers: answerHeaders, status, statusText });
    },
  };
}
