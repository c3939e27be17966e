/**
 * The layers of src/ (README "Layout"), bottom first: a folder imports only folders listed before it,
 * so no two top folders can import each other. `npm test` runs this (`npm run lint:deps`).
 * A new top folder of src/ must be placed in LAYERS (the `unplaced-folder` rule says so).
 */
const LAYERS = [
  // foundation: used everywhere, uses nothing above
  'errors',
  'suggest',
  'log',
  'config',
  'store',
  'inventory',
  'catalog',
  // pure analysis, then the rules joining it into causes
  'analyze',
  'diagnose',
  // I/O: run catalog commands, count them, read hosts
  'exec',
  'metrics',
  'collect',
  // use cases (own the Report model), then its renderers
  'triage',
  'report',
  // the front-end port: responder, messages, throttled updates, who may do what
  'chat',
  // features
  'actions',
  'app',
  'digest',
  'runbook',
  // the one command router, then the front ends
  'router',
  'alerts',
  'console',
  'slack',
  'cli',
];

const folders = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

module.exports = {
  forbidden: [
    ...LAYERS.slice(0, -1).map((name, i) => ({
      name: `layer-${name}`,
      severity: 'error',
      comment: `src/${name} sits below ${LAYERS.slice(i + 1).join(', ')} (README "Layout"): it must not import them`,
      from: { path: folders([name]) },
      to: { path: folders(LAYERS.slice(i + 1)) },
    })),
    {
      name: 'analyze-is-pure',
      severity: 'error',
      comment: 'src/analyze parses and aggregates text it is given: no I/O, config or logging from other folders',
      from: { path: '^src/analyze/' },
      to: { path: '^src/', pathNot: '^src/analyze/' },
    },
    {
      name: 'diagnose-uses-only-analyze',
      severity: 'error',
      comment: 'src/diagnose joins analyzer output into causes: pure, like src/analyze',
      from: { path: '^src/diagnose/' },
      to: { path: '^src/', pathNot: '^src/(analyze|diagnose)/' },
    },
    {
      name: 'unplaced-folder',
      severity: 'error',
      comment: 'every top folder of src/ has a place in LAYERS (.dependency-cruiser.cjs) and in README "Layout"',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: folders(LAYERS) },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'modules that import each other, even inside one folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'an import that resolves to nothing',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a cycle through types is still a cycle between folders.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
