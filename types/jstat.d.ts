declare module 'jstat' {
  // jstat ships UMD without types; we use a small, loosely typed surface.
  const jstatModule: { jStat: any };
  export default jstatModule;
}
