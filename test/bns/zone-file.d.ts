/** The zone-file package (1.0.0) ships no types: the part the comparison test uses. */
declare module 'zone-file' {
  const zoneFile: { parseZoneFile(text: string): unknown };
  export default zoneFile;
}
