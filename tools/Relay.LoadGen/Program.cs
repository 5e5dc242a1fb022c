Console.WriteLine("load generator: see issue 3");
