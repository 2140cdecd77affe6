/**
 * YAML manifests for the fast/exact validation tests. VALID: real-world shapes that must take the fast path.
 * INVALID: problems both parsers see. DIVERGENT: text js-yaml accepts (or reads differently) where `yaml` reports a
 * problem; the fast path must hand each of them to the exact check.
 */
export const VALID: Record<string, string> = {
  'deployment.yaml': `# Web front end
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
  labels:
    app.kubernetes.io/name: web
  annotations:
    description: "Serves the site; see https://example.com/docs#deploy"
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27 # pinned
          args: ["--port", "8080"]
          command:
            - sh
            - -c
            - 'exec nginx -g "daemon off;" && echo done'
          ports:
            - containerPort: 8080
              protocol: TCP
          env:
            - name: EMPTY
              value: ""
            - {name: MODE, value: production}
          resources:
            limits: {cpu: 500m, memory: 128Mi}
      # tolerations:
      # - key: x
      nodeSelector: {}
`,
  'multi.yaml': `---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
    targetPort: 8080
---
# only a comment
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: cleanup
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: c
            image: busybox
...
`,
  'rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: admin-ish
rules:
  - apiGroups: ["*"]
    resources: ['*']
    verbs: [get, list, watch]
`,
  'configmap.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: "123"
data:
  nginx.conf: |
    server {
      listen 80; # comment in a block scalar
      location / { return 200 "ok: [yes]"; }
    }
  script.sh: >-
    if [ -n "$X" ]; then
      echo "a && b" ;
    fi
  long: "a quoted string
    that continues on a second line"
  url: http://example.com/path?a=1&b=2#frag
  colour: "#ff0000"
  empty-ish: ''
  number: "42"
`,
  'crd.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          description: Widget is a thing. It's described here, with a
            plain multi-line description.
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-preserve-unknown-fields: true
`,
  'list.yaml': 'apiVersion: v1\nkind: List\nitems: []\n',
  'windows.yaml': 'apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: crlf\r\ndata:\r\n  a: b\r\n',
  'flux.yaml': `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: OCIRepository
    name: apps
  postBuild:
    substitute:
      cluster_name: "dev"
`,
  'helm.yaml': `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
spec:
  chart:
    spec:
      chart: podinfo
      version: ">=6.0.0 <7.0.0"
  values:
    replicaCount: 2
    ingress:
      hosts:
        - host: podinfo.local
          paths: [{path: /, pathType: ImplementationSpecific}]
    tolerations: []
    podAnnotations:
      prometheus.io/scrape: "true"
`,
};

const HEAD = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';

export const INVALID: Record<string, string> = {
  'syntax.yaml': `${HEAD}  labels: {a: 1\n`,
  'no-kind.yaml': 'apiVersion: v1\nmetadata:\n  name: x\n',
  'no-name.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  namespace: x\n',
  'empty-name.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: ""\n',
  'null-metadata.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n',
  'metadata-list.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: [x]\n',
  'number-kind.yaml': 'apiVersion: v1\nkind: 42\nmetadata: {name: x}\n',
  'bool-name.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: true}\n',
  'duplicate.yaml': `${HEAD}  name: y\n`,
  'multi-doc.yaml': `---\n${HEAD}---\n---\napiVersion: v1\nkind: ConfigMap\n`,
  'list-without-api.yaml': 'kind: List\nitems: []\n',
  'sequence.yaml': '- one\n- two\n',
  'scalar.yaml': 'just text\n',
  'unterminated.yaml': 'key: "unterminated\nother: 1\n',
};

/** Syntax `yaml` rejects and js-yaml accepts, each found by differential fuzzing of the two parsers. */
export const DIVERGENT_SYNTAX: Record<string, string> = {
  'flow continuation not indented': `${HEAD}  labels: {a: b,\n  c: d}\n`,
  'quoted continuation not indented': `${HEAD}data:\n  note: "x\n  y"\n`,
  'text after a closing bracket': `${HEAD}  labels: {a: b,\n  }  c: d}\n`,
  'tab indenting a flow entry': `${HEAD}data:\n  a: [1,\n\t2]\n`,
  'empty sequence entry': `${HEAD}data:\n  a:\n    -\n   - b\n`,
  'comment before a plain value': `${HEAD}data:\n  a:\n  #c\n    keep\n  b: 1\n`,
  'comment glued to a scalar': `${HEAD}data:\n  a: "b"#c\n`,
  'lone CR line breaks': 'apiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: x\r',
  'mapping on the document marker': '--- a: b\n',
  'keys equal as numbers': `${HEAD}data:\n  1e400: a\n  .inf: b\n`,
  'escape past U+10FFFF': `${HEAD}data:\n  a: "\\U0011FFFF"\n`,
  'implicit key over 1024 characters': `${HEAD}data:\n  ${'k'.repeat(1025)}: v\n`,
};

/** Valid YAML whose values pass the object rules in js-yaml but whose nodes do not in `yaml`. */
export const DIVERGENT_READING: Record<string, string> = {
  'name that yaml reads as a number': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 1e400\n',
  'alias as name': 'apiVersion: v1\nkind: &k ConfigMap\nmetadata:\n  name: *k\n',
  'sequence as key': 'apiVersion: v1\n[kind]: ConfigMap\nmetadata: {name: x}\n',
  'YAML 1.1 directive': '%YAML 1.1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yes\n',
};

/** `{ name: text }` as files `dir/<n>-<name>.yaml`. */
export const asFiles = (dir: string, texts: Record<string, string>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(texts).map(([name, text], i) => [`${dir}/${i}-${name.replace(/\W+/g, '-')}.yaml`, text]),
  );
