"""KubeRay: manifests rendered from the project's settings and config/serve.yaml,
validated against the KubeRay CRDs, and applied/scaled through the Kubernetes API."""
