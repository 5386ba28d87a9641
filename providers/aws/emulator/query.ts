/**
 * @module ec2 query parameters
 * Reading an EC2 Query API request body (cloud-apis.md §1.1-1.2): a form
 * `Action=…&Version=2016-11-15&…` whose lists are flattened `Name.N`
 * (1-based), structs `Parent.Child`, lists of structs `Name.N.Field` and
 * nested lists `Filter.N.Value.M`. Wire names are the SDK's `ec2QueryName`s
 * (`SecurityGroupId.N`, `PrivateIpAddress.N`, `Ipv4Prefix.N`, `ResourceId.N`…).
 *
 * Malformed values throw {@link QueryError}, which the server turns into the
 * 400 EC2 sends for them; nothing here touches the cloud.
 */

/** A refusal decided from the request itself (EC2 code + message), reported with `status` (default 400). */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class QueryParams {
  private readonly map: Map<string, string>;

  constructor(body: string) {
    this.map = new Map(new URLSearchParams(body));
  }

  get action(): string {
    return this.map.get('Action') ?? '';
  }

  get version(): string {
    return this.map.get('Version') ?? '';
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  /** Every parameter as sent, in order. */
  entries(): Array<[string, string]> {
    return [...this.map.entries()];
  }

  /** True when `name` or any `name.…` key is present (a scalar, list or struct was given). */
  hasAny(name: string): boolean {
    for (const k of this.map.keys()) if (k === name || k.startsWith(`${name}.`)) return true;
    return false;
  }

  str(name: string): string | undefined {
    return this.map.get(name);
  }

  required(name: string): string {
    const v = this.map.get(name);
    if (v === undefined || v === '')
      throw new QueryError('MissingParameter', `The request must contain the parameter ${name}`);
    return v;
  }

  int(name: string): number | undefined {
    const raw = this.map.get(name);
    if (raw === undefined) return undefined;
    if (!/^-?\d+$/.test(raw))
      throw new QueryError(
        'InvalidParameterValue',
        `Value (${raw}) for parameter ${name} is invalid. Expected an integer.`,
      );
    return Number(raw);
  }

  bool(name: string): boolean | undefined {
    const raw = this.map.get(name);
    if (raw === undefined) return undefined;
    if (raw !== 'true' && raw !== 'false')
      throw new QueryError(
        'InvalidParameterValue',
        `Value (${raw}) for parameter ${name} is invalid. Expected true or false.`,
      );
    return raw === 'true';
  }

  /** A flattened list `Name.1`, `Name.2`, … in index order (gaps end the list, as in EC2's parser). */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; this.map.has(`${name}.${i}`); i++) out.push(this.map.get(`${name}.${i}`)!);
    return out;
  }

  /** Indices N for which some `Name.N.…` key exists, ascending. */
  private structIndices(name: string): number[] {
    const re = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)\\.`);
    const seen = new Set<number>();
    for (const k of this.map.keys()) {
      const m = re.exec(k);
      if (m) seen.add(Number(m[1]));
    }
    return [...seen].sort((a, b) => a - b);
  }

  /** `Filter.N.Name` / `Filter.N.Value.M`: values within one filter are OR-ed, filters AND-ed. */
  filters(): Array<{ name: string; values: string[] }> {
    return this.structIndices('Filter').map((i) => {
      const name = this.map.get(`Filter.${i}.Name`);
      if (!name) throw new QueryError('InvalidParameterValue', `The filter 'null' is invalid`);
      return { name, values: this.list(`Filter.${i}.Value`) };
    });
  }

  /** `Tag.N.Key` / `Tag.N.Value` (CreateTags). */
  tags(prefix = 'Tag'): Record<string, string> {
    const out: Record<string, string> = {};
    for (const i of this.structIndices(prefix)) {
      const key = this.map.get(`${prefix}.${i}.Key`);
      if (!key) throw new QueryError('InvalidParameterValue', `Tag key must not be empty (${prefix}.${i}.Key)`);
      out[key] = this.map.get(`${prefix}.${i}.Value`) ?? '';
    }
    return out;
  }

  /** `TagSpecification.N.ResourceType` + `TagSpecification.N.Tag.M.*`, keeping those for `resourceType`. */
  tagSpecifications(resourceType: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const i of this.structIndices('TagSpecification')) {
      const type = this.map.get(`TagSpecification.${i}.ResourceType`);
      if (type !== resourceType) {
        throw new QueryError(
          'InvalidParameterValue',
          `'${type ?? 'null'}' is not a valid taggable resource type for this operation.`,
        );
      }
      Object.assign(out, this.tags(`TagSpecification.${i}.Tag`));
    }
    return out;
  }

  /** Values of a list of structs `Name.N.Field`, e.g. `PrivateIpAddresses.N.PrivateIpAddress`. */
  structField(name: string, field: string): string[] {
    return this.structIndices(name)
      .map((i) => this.map.get(`${name}.${i}.${field}`))
      .filter((v): v is string => v !== undefined);
  }
}
