"""Finding digit candidates in a picture and normalising each to 28×28 as MNIST was made."""
