import { GatewayError } from '../core/errors';
import type { VertexPath } from '../formats/vertex-path';
import type { VertexOptions } from './google-vertex';

/**
 * A parsed Vertex path as it goes upstream: rebuilt from its parts, never patched in place, so
 * whatever project, location or spelling the caller sent, Vertex sees one canonical path in the
 * gateway's own project and location. Every part was checked to need no percent-encoding, so
 * none is added here.
 */
export function vertexUpstreamPath(path: VertexPath, { project, location }: Pick<VertexOptions, 'project' | 'location'>): string {
  const { version } = path;
  if (path.kind === 'action') return `/${version}/projects/${requireProject(project)}/locations/${location}/${path.resource}/${path.model}:${path.action}`;
  // Base-model listing and lookup stay unprefixed: Vertex refuses a project there.
  return `/${version}/publishers/${path.publisher}/models${path.model === undefined ? '' : `/${path.model}`}`;
}

function requireProject(project: string | undefined): string {
  if (project === undefined) {
    throw new GatewayError('provider_not_configured', 'Provider google-vertex needs "options.project" in the gateway config to forward project-scoped requests.');
  }
  return project;
}
