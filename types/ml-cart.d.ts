declare module 'ml-cart' {
  export class DecisionTreeRegression {
    constructor(options?: { gainFunction?: string; splitFunction?: string; minNumSamples?: number; maxDepth?: number });
    train(x: number[][], y: number[]): void;
    predict(x: number[][]): number[];
    toJSON(): unknown;
    static load(model: unknown): DecisionTreeRegression;
  }
}
